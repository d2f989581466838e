"""Execute the library notebooks as `nbdev_test` does, and keep their outputs for the docs site.

The notebooks are committed without outputs (clean diffs), so the site gets them by executing them. The
test command already executes every notebook (`nbdev_test`); `python tools/nb_outputs.py test` is
`nbdev_test --n_workers 1 --timing` with one addition: each notebook that passes leaves its cells' outputs
in `.cache/site-outputs/`, keyed by the notebook's bytes and the package's source, so that `make site`
after `make test` executes nothing. `tools/build_site.py` calls `execute` for the notebooks whose outputs
are missing (a changed notebook, a changed package, a fresh clone without a test run).

Execution is nbdev's own: `nbdev.test.test_nb` (the `tst_flags` of settings.ini skip the same cells,
`#| eval: false` and export cells are not run, one IPython shell per notebook, figures as PNG),
with its shell subclassed to keep the outputs.
"""
import hashlib, json, os, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT/'.cache'/'site-outputs'


def source_digest() -> str:
    "A digest of the package's source and settings.ini: outputs are kept per version of the code they ran."
    h = hashlib.sha256()
    for p in sorted((ROOT/'edgenes').rglob('*.py')) + [ROOT/'settings.ini']:
        h.update(str(p.relative_to(ROOT)).encode() + b'\0' + p.read_bytes() + b'\0')
    return h.hexdigest()


def cache_path(nb: Path, digest: str | None = None) -> Path:
    "Where the outputs of notebook `nb` (as it is now, with the package as it is now) are kept."
    h = hashlib.sha256(Path(nb).read_bytes() + (digest or source_digest()).encode()).hexdigest()[:20]
    return CACHE/f'{Path(nb).stem}-{h}.json'


def load(nb: Path, digest: str | None = None) -> dict | None:
    "{cell id: outputs} of notebook `nb`'s last passing execution with the current code, or None."
    p = cache_path(nb, digest)
    return json.loads(p.read_text()) if p.exists() else None


def keep(nb: Path, cells) -> Path:
    "Write the outputs of an executed notebook's code cells (by cell id), atomically."
    outs = {c['id']: c.get('outputs', []) for c in cells if c.get('cell_type') == 'code' and c.get('id') and c.get('outputs')}
    p = cache_path(nb)
    p.parent.mkdir(parents=True, exist_ok=True)
    for old in p.parent.glob(f'{Path(nb).stem}-*.json'): old.unlink()      # one version per notebook
    tmp = p.with_suffix('.tmp')
    tmp.write_text(json.dumps(outs, sort_keys=True, default=str))
    os.replace(tmp, p)
    return p


def install_keeping_shell():
    "Make nbdev's test runner keep the outputs of each notebook that runs through without an exception."
    import nbdev.test as T
    from execnb.shell import CaptureShell
    if getattr(T.CaptureShell, 'keeps_outputs', False): return T
    class KeepingShell(CaptureShell):
        keeps_outputs = True
        def __init__(self, path=None, *a, **kw):
            super().__init__(path, *a, **kw)
            self.nb_path = Path(path) if path else None
        def run_all(self, nb, *a, **kw):
            super().run_all(nb, *a, **kw)
            if self.nb_path is not None and not self.exc: keep(self.nb_path, nb.cells)
    T.CaptureShell = KeepingShell
    return T


def _execute_one(fn: str) -> tuple:
    T = install_keeping_shell()
    from nbdev.config import get_config
    from fastcore.xtras import working_directory
    cfg = get_config()
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    with working_directory(cfg.nbs_path):
        ok, secs = T.test_nb(Path(fn), skip_flags=cfg.tst_flags.split(), force_flags=[], basepath=cfg.config_path, showerr=True)
    return fn, ok, secs


def execute(nbs: list, n_workers: int = 2) -> dict:
    "Execute notebooks `nbs` (paths) as nbdev_test does, `n_workers` at a time; {path: (passed, seconds)}."
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    if not nbs: return {}
    with ProcessPoolExecutor(max_workers=max(1, min(n_workers, len(nbs))), mp_context=mp.get_context('fork')) as ex:
        return {fn: (ok, secs) for fn, ok, secs in ex.map(_execute_one, [str(Path(p).resolve()) for p in nbs])}


def main(argv=None):
    "`test`: nbdev_test --n_workers 0 --timing (one notebook at a time, in this process), keeping the outputs (the test command's notebook stage)."
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ['test']: raise SystemExit('usage: python tools/nb_outputs.py test   (nbdev_test, keeping outputs for the site)')
    os.chdir(ROOT)
    T = install_keeping_shell()
    T.nbdev_test.__wrapped__(n_workers=0, timing=True)      # 0: in this process, one notebook at a time


if __name__ == '__main__': main()
