"""The Slurm executor (edgenes.cluster) against a real Slurm: a one-node cluster with job accounting, started by
tools/slurm_cluster.py in a folder of this session (its Debian packages installed when missing, as root) and stopped
by its process ids at the end.

(a) One item of the smoke batch (ITEMS) at seed 0 through Slurm gives the table of the same batch computed in process;
(b) `sacct` lists one job per artifact, each COMPLETED (submitit reads these states: with no accounting it would
    see UNKNOWN);
(c) a job cancelled with `scancel` after its first epoch checkpoint is resubmitted, goes on from that checkpoint
    (its log starts at a later epoch) and gives the uninterrupted result.
Cost: the batch is one item (see ITEMS) and runs one job at a time (--array_limit 1), so that it takes one core
beside the other tests. The whole smoke batch through Slurm, checked against the whole batch in process, is
benchmarks/slurm_batch.py (record figures/bench/slurm_batch.json): at one job per artifact, each job spends about 5
CPU-seconds starting Python, torch and TorchDynamo, and the whole batch costs more than the test command has."""
import os, re, resource, socket, subprocess, sys, threading, time
from pathlib import Path
import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import slurm_cluster  # noqa: E402
from conftest import torch_threads  # noqa: E402

EXE = str(Path(sys.executable).parent/'edgenes-reproduce')
# One item: 2 artifacts (a search, then the hypernetwork trained against it: a dependency the jobs must honour), so
# 2 jobs. With theorem1 too (three retrainings more) it was 5 jobs and 206 s of the test command's wall-clock. The whole
# smoke batch is 76 jobs: 571 CPU-s of jobs (about 5.7 each to start Python, torch and TorchDynamo) and 414 s on this
# 2-core machine with nothing beside it (benchmarks/slurm_batch.py, figures/bench/slurm_batch.json), more than the test
# command has.
ITEMS = ['fig3_1']


def free_port_base()->int:
    "The first of four free ports in a row (slurmctld, slurmd, slurmdbd, mariadb), away from Slurm's defaults."
    def free(p):
        with socket.socket() as s: return s.connect_ex(('127.0.0.1', p)) != 0
    return next(b for b in range(16817, 20817, 4) if all(free(b + i) for i in range(4)))


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    "A one-node Slurm cluster with accounting, for this module; SLURM_CONF points to it while it runs."
    if slurm_cluster.missing_packages():
        if os.geteuid() != 0:
            pytest.fail(f"Debian's {' '.join(slurm_cluster.missing_packages())} are needed: run `sudo python3 tools/slurm_cluster.py install`")
        try: slurm_cluster.install()
        except SystemExit as e: pytest.fail(str(e))
    c = slurm_cluster.Cluster(tmp_path_factory.mktemp('slurm'), free_port_base())
    old = os.environ.get('SLURM_CONF')
    try:
        c.start()
        os.environ['SLURM_CONF'] = str(c.conf)
        yield c
        print(f"\nSlurm jobs of this module: {jobs_cpu()}")
    finally:
        c.stop()
        if old is None: os.environ.pop('SLURM_CONF', None)
        else: os.environ['SLURM_CONF'] = old


def jobs_cpu()->str:
    "How many jobs the cluster ran, their CPU seconds (sacct TotalCPU) and their wall-clock seconds."
    r = subprocess.run(['sacct', '-a', '-n', '-P', '-S', '2000-01-01', '-o', 'JobID,TotalCPU,Elapsed'], capture_output=True, text=True)
    rows = [l.split('|')[1:] for l in r.stdout.splitlines() if l and '.' not in l.split('|')[0]]   # jobs (with -X, TotalCPU reads 0)
    return f"{len(rows)} jobs, {sum(slurm_cluster.sacct_seconds(c) for c, _ in rows):.0f} CPU-s, {sum(slurm_cluster.sacct_seconds(e) for _, e in rows):.0f} s of job wall-clock"


def sacct(*ids)->dict:
    "job id: (job name, state) of the jobs `ids`, from Slurm's accounting."
    r = subprocess.run(['sacct', '-X', '-n', '-P', '-o', 'JobID,JobName,State', *[f'-j{i}' for i in ids]], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return {i: (n, s) for i, n, s in (l.split('|') for l in r.stdout.splitlines() if l)}


def same(x, y)->bool:
    "Equal values, tensors compared exactly, timings (keys with 'seconds') left out."
    if isinstance(x, torch.Tensor): return isinstance(y, torch.Tensor) and torch.equal(x, y)
    if isinstance(x, dict):
        keep = lambda d: {k: v for k, v in d.items() if 'seconds' not in str(k)}
        x, y = keep(x), keep(y) if isinstance(y, dict) else y
        return isinstance(y, dict) and x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple)): return type(x) == type(y) and len(x) == len(y) and all(map(same, x, y))
    return x == y


def test_cancelled_job_resumes(cluster, tmp_path):
    "A search job cancelled after its first epoch checkpoint: resubmitted, it goes on from the checkpoint to the uninterrupted result."
    from edgenes.plan import RunSpec, make_plan
    from edgenes.execute import run_task
    from edgenes.cluster import run_slurm
    ov = {'search_epochs': 3, 'n_train': 300}                    # three epochs of a few seconds: time to cancel after the first
    spec = RunSpec('smoke', ov, str(tmp_path/'store'), progress=True)
    task = next(t for t in make_plan(spec, ['fig3_1'], [0]) if t.kind == 'search')
    res, lines = {}, []
    th = threading.Thread(target=lambda: res.update(r=run_slurm(spec, [task], time_min=10, mem_gb=2, folder=tmp_path/'logs',
                                                                poll_s=0.2, sacct_s=1, log=lines.append)))
    th.start()
    deadline = time.time() + 300
    while not list((tmp_path/'store').glob('ckpt/search-*')) and th.is_alive() and time.time() < deadline: time.sleep(0.05)
    assert list((tmp_path/'store').glob('ckpt/search-*')), ('no epoch checkpoint appeared', lines, res)
    first = next(m.group(1) for l in lines if (m := re.search(r'submitted as Slurm job (\d+)', l)))
    subprocess.run(['scancel', first], check=True)
    th.join(600)
    assert 'r' in res, lines
    rec = res['r'][0]
    assert rec['status'] == 'ok' and rec['jobs'][0] == first and len(rec['jobs']) == 2, (rec, lines)
    assert sacct(first)[first][1].startswith('CANCELLED')
    second = rec['jobs'][1]
    log = (tmp_path/'logs'/second/f'{second}_0_log.out').read_text()
    epochs = [int(e) for e in re.findall(r'epoch (\d+)/3', log)]
    assert epochs and epochs[-1] == 3 and epochs[0] >= 2, log[-2000:]   # went on after epoch 1 (or later): never epoch 1 again
    plain = RunSpec('smoke', ov, str(tmp_path/'plain'))
    with torch_threads(1): run_task(plain, task)                 # the same search, uninterrupted, in this process, on the job's one thread
    a, b = spec.experiment().alpha_star(0), plain.experiment().alpha_star(0)
    assert torch.equal(a.alpha, b.alpha) and torch.equal(a.beta, b.beta) and a.arch == b.arch
    assert same(a.history, b.history)


@pytest.fixture(scope='module')
def slurm_batch(cluster, tmp_path_factory):
    "The smoke batch at seed 0 with `--executor slurm`: (output folder, the command's result, {task id: job id}, seconds)."
    out, cache, logs = (tmp_path_factory.mktemp(n) for n in ('figures', 'cache', 'slurm-logs'))
    t0, c0 = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([EXE, '--preset', 'smoke', '--seeds', '0', '--only', ','.join(ITEMS), '--executor', 'slurm', '--array_limit', '1',
                        '--slurm_folder', str(logs), '--out_dir', str(out), '--cache_dir', str(cache)], capture_output=True, text=True)
    secs, c1 = time.time() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"\nSlurm batch: {secs:.0f} s; the command (plan, driver, notebooks): "
          f"{c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime:.0f} CPU-s; jobs so far: {jobs_cpu()}")
    jobs = dict(re.findall(r'^(.+): submitted as Slurm job (\d+)$', p.stdout, re.M))
    return out, p, jobs, secs


def test_sacct_one_job_per_artifact(slurm_batch):
    "Each artifact of the plan ran as one Slurm job, named after it, and sacct saw it COMPLETED."
    from edgenes.cluster import _job_name
    out, p, jobs, _ = slurm_batch
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    n = int(re.search(r'computing the plan: (\d+) artifacts', p.stdout).group(1))
    assert len(jobs) == n >= 2                               # the search, then the hypernetwork that needs it
    acct = sacct(*jobs.values())
    assert sorted(acct) == sorted(jobs.values())
    for task, j in jobs.items():
        name, state = acct[j]
        assert state == 'COMPLETED' and name == _job_name(type('T', (), {'id': task})), (task, j, name, state)


def test_slurm_batch_equals_in_process(slurm_batch, tmp_path):
    "Every item's table from the Slurm batch equals the same batch computed in process (timings aside)."
    out, p, jobs, _ = slurm_batch
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    # The same command with the local executor in one process, on its own store: not the smoke batch of
    # tests/test_paper.py, so that this test, started first, never waits for that batch.
    local = subprocess.run([EXE, '--preset', 'smoke', '--seeds', '0', '--only', ','.join(ITEMS), '--executor', 'local',
                            '--out_dir', str(tmp_path/'figures'), '--cache_dir', str(tmp_path/'cache')], capture_output=True, text=True,
                           env={**os.environ, 'OMP_NUM_THREADS': '1'})   # the jobs' one thread (--cpus 1)
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    for key in ITEMS:
        a = pd.read_csv(out/'smoke'/f'{key}.csv')
        b = pd.read_csv(tmp_path/'figures'/'smoke'/f'{key}.csv')
        timing = [c for c in b.columns if 'seconds' in c]
        assert len(a) > 0 and list(a.columns) == list(b.columns), key
        pd.testing.assert_frame_equal(a.drop(columns=timing).reset_index(drop=True), b.drop(columns=timing).reset_index(drop=True),
                                      check_exact=True, obj=key)
