"""How much alpha* can learn, per preset: its operations with weights (convolutions) against pooling and skip
connections, which have none (issue 24: the DARTS family's early collapse onto parameter-free operations).

    .venv/bin/python benchmarks/parametric_share.py [--presets smoke,quick] [--seeds smoke=0,1 quick=0,...,9]
        [--cache_dir DIR] [--compute smoke] [--out figures/bench/parametric_share]

For each preset, alpha* of each seed is read from the artifact store (`--cache_dir`, the batches' store), where a
batch of that preset computed it; presets named in `--compute` (seconds at smoke) are searched here when the store
lacks them. A preset whose alpha* is neither in the store nor computed is reported as not run, never guessed.
The reference is the thesis code's stored cells (two CIFAR-100 regularised searches and two numbered checkpoints
of its repository, read when issue 24 was filed): 17 of 24 inputs with weights.
It prints a Markdown table and writes `<out>.json` (every alpha*, the commit and the machine) and `<out>.md`.
"""
import argparse, json, os, subprocess, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THESIS = (17, 24)


def alpha_stars(preset:str, seeds:list, cache_dir:str, compute:bool)->dict:
    "alpha* by seed: from the store, or searched here when `compute`; a seed that is neither is left out."
    from edgenes.config import cache_dir as default_cache
    from edgenes.experiment import Experiment
    from edgenes.store import MissingArtifact, PlanStore
    root, out = Path(cache_dir or default_cache())/preset, {}      # a batch's store: <cache_dir>/<preset>
    for read_only in ((True, False) if compute else (True,)):
        exp = Experiment.from_preset(preset, cache=PlanStore(root, read_only))
        for s in seeds:
            if s in out: continue
            try: out[s] = exp.alpha_star(s).arch
            except MissingArtifact: pass
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--presets', default='smoke,quick,medium,paper', help='presets to report (default: all four)')
    ap.add_argument('--seeds', nargs='*', default=[], help="preset=comma-separated seeds (default: each preset's own)")
    ap.add_argument('--cache_dir', default='', help="the batches' artifact store ('': $EDGENES_CACHE or ~/.cache/edgenes)")
    ap.add_argument('--compute', default='smoke', help='presets whose missing alpha* are searched here (default: smoke)')
    ap.add_argument('--out', default='', help='write <out>.json and <out>.md (default: print only)')
    a = ap.parse_args(argv)
    from edgenes.config import get_preset
    from edgenes.arch import arch_id, n_parametric
    from edgenes.provenance import cpu_model
    seeds = {k: [int(x) for x in v.split(',') if x.strip()] for k, v in (s.split('=', 1) for s in a.seeds)}
    compute = {p.strip() for p in a.compute.split(',') if p.strip()}
    rows, rec, t0 = [], {}, time.perf_counter()
    for preset in [p.strip() for p in a.presets.split(',') if p.strip()]:
        P = get_preset(preset); want = seeds.get(preset, list(P.seeds))
        try: stars, why = alpha_stars(preset, want, a.cache_dir, preset in compute), 'not run'
        except FileNotFoundError: stars, why = {}, 'not run (its data set is not on this machine)'
        par = {s: n_parametric(x) for s, x in stars.items()}; edges = sum(x.n_edges for x in stars.values())
        rec[preset] = {'seeds': want, 'found': sorted(stars), 'alpha_star': {s: arch_id(x) for s, x in stars.items()}, 'parametric': par,
                       'search': {'search_warmup': P.search_warmup, 'search_epochs': P.search_epochs, 'n_train': P.n_train, 'C': P.C}}
        where = 'computed here or read' if preset in compute else 'read from the store'
        rows.append(f"| {preset} | {P.search_warmup} + {P.search_epochs} | "
                    + (f"{len(stars)} of {len(want)} ({where}) | {sum(par.values())} of {edges} ({100 * sum(par.values()) / edges:.0f}%) | "
                       f"{', '.join(str(par[s]) for s in sorted(par))} |" if stars else f"0 of {len(want)} | {why} | — |"))
    commit = subprocess.run(['git', 'describe', '--always', '--dirty', '--abbrev=40'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    md = [f"alpha* operations with weights, per preset (`benchmarks/parametric_share.py`; {cpu_model()}, {os.cpu_count()} cores, "
          f"commit `{commit[:10]}`). Reference: the thesis code's stored cells, {THESIS[0]} of {THESIS[1]} "
          f"({100 * THESIS[0] / THESIS[1]:.0f}%).", '',
          '| preset | search epochs (weight-only + with the architecture step) | seeds with alpha* | operations with weights | per seed |',
          '|---|---|---|---|---|', *rows]
    print('\n'.join(md))
    if a.out:
        out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix('.json').write_text(json.dumps({'presets': rec, 'thesis_code': THESIS, 'commit': commit,
                                                        'machine': f"{cpu_model()}, {os.cpu_count()} cores",
                                                        'seconds': time.perf_counter() - t0}, indent=1))
        out.with_suffix('.md').write_text('\n'.join(md) + '\n')


if __name__ == '__main__':
    main()
