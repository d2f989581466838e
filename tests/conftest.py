"Shared fixtures: a tiny split of the embedded data, fast enough for many searches; the smoke batch (not through Slurm)."
import fcntl, json, os, shutil, signal, subprocess, sys, time
from contextlib import contextmanager
from pathlib import Path
import pytest
from edgenes.data import load_embedded, make_splits

@pytest.fixture(scope='session')
def embedded():
    return load_embedded()

@pytest.fixture(scope='session')
def tiny_splits(embedded):
    "300 training images: 135 + 135 for the two halves, 30 held out."
    return make_splits(embedded, seed=0, valid_frac=0.1, n_train=300)

TINY = dict(C=4, search_epochs=3, search_bs=32, a_lr=3e-3)


@contextmanager
def torch_threads(n:int):
    """PyTorch's threads set to `n` inside the block: a sum split over threads adds in another order, so a result computed
    in this process is compared with one from a worker process or a Slurm job at that process's thread count."""
    import torch
    old = torch.get_num_threads(); torch.set_num_threads(n)
    try: yield
    finally: torch.set_num_threads(old)


def pytest_configure(config):
    config.addinivalue_line('markers', 'kernels: compares a fast path with a plain one; tests/test_kernels.py reruns these '
                                       'under every CPU kernel path the machine supports (ATEN_CPU_CAPABILITY)')


FIRST = ('test_paper.py', 'test_cluster.py')   # the smoke batch, and the Slurm test that mostly waits on Slurm: started first,
                                               # beside the CPU-bound work (the Slurm test asks for the batch only at its end)
LAST = ('test_readme.py',)  # reads that batch: run last, when the batch is done (no idle wait for it)


def pytest_collection_modifyitems(config, items):
    """Start the longest test file and the waiting one first, end with the one that reads the batch (pytest-xdist keeps
    this file order with --no-loadscope-reorder, which the test command passes; by default it orders files by test count)."""
    items.sort(key=lambda it: 0 if it.path.name in FIRST else 2 if it.path.name in LAST else 1)


EXE = str(Path(sys.executable).parent/'edgenes-reproduce')

def _smoke_batch(root:Path)->dict:
    """The whole batch at smoke on two local workers, killed once some artifacts are on disk and run again to the end, in `root`:
    its folders, the completing command's exit code and output, the artifacts on disk when it was killed,
    and a copy of its tables (`root/tables`: later warm re-runs rewrite the output folder)."""
    out, cache = root/'figures', root/'cache'
    n_entries = lambda: len(list(cache.rglob('*.pt')))
    cmd = [EXE, '--preset', 'smoke', '--out_dir', str(out), '--cache_dir', str(cache), '--workers', '2']   # two worker processes (in process: tests/test_plan.py)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while n_entries() < 4 and p.poll() is None and time.time() < deadline: time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    done = n_entries()
    r = subprocess.run(cmd, capture_output=True, text=True)
    shutil.copytree(out/'smoke', root/'tables', ignore=shutil.ignore_patterns('runs', '*.png', '*.pdf'))
    return {'out': str(out), 'cache': str(cache), 'args': cmd, 'returncode': r.returncode, 'stdout': r.stdout,
            'stderr': r.stderr, 'done': done, 'tables': str(root/'tables')}

@pytest.fixture(scope='session')
def smoke_batch(tmp_path_factory)->dict:
    """`_smoke_batch`, run once per test session: with pytest-xdist the workers share it (the first to ask runs it
    under a file lock, the others wait for it and read its record)."""
    if 'PYTEST_XDIST_WORKER' not in os.environ: return _smoke_batch(tmp_path_factory.mktemp('smoke-batch'))
    root = tmp_path_factory.getbasetemp().parent/'smoke-batch'   # the session's folder, shared by its workers
    root.mkdir(exist_ok=True)
    with open(root.with_suffix('.lock'), 'a') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            rec = root/'record.json'
            if not rec.exists(): rec.write_text(json.dumps(_smoke_batch(root)))
            return json.loads(rec.read_text())
        finally: fcntl.flock(f, fcntl.LOCK_UN)
