"""The whole batch through Slurm against the same batch in process: equal tables, one job per artifact, and what it costs.

    .venv/bin/python benchmarks/slurm_batch.py [--preset smoke] [--seeds ''] [--only ''] [--array_limit 2]
                                               [--json figures/bench/slurm_batch.json]

The test command checks the Slurm executor on one item at seed 0 (tests/test_cluster.py), because the whole smoke batch
as one job per artifact costs more CPU than the test command has beside its other tests on a 2-core machine; this
script is the check on the whole batch. It starts a one-node Slurm cluster with accounting (tools/slurm_cluster.py, in
a temporary folder, on free ports; its Debian packages must be installed: `python3 tools/slurm_cluster.py install` as
root), runs `edgenes-reproduce` cold in process (`--workers 1`) and then cold with `--executor slurm`, each on its own
empty store and output folder, and stops the cluster. The jobs get `--cpus` cores (1) and as many PyTorch threads, and
the in-process batch runs with that many threads too: PyTorch's CPU reductions split their sums over the threads, so
the thread count moves a result in its last bits (with PyTorch's two threads in process and one in each job, the
smoke batch's Table 3 test NLL differed by up to 1.6e-5, where the comparison stopped; Table 3's test accuracy and the
other six tables were equal; AMD EPYC, commit 8435b71). It checks, and prints:

- every item's CSV from Slurm equals the in-process one exactly (timing columns aside);
- `sacct` lists one job per artifact: as many jobs as store entries the Slurm batch wrote, each COMPLETED, no
  two with one name; plan tasks whose artifact another task had made already ran no job;
- the wall-clock of each batch, the CPU-seconds of the command (plan driver and notebooks) and of the jobs (sacct's
  TotalCPU), and how many of the jobs' CPU-seconds went to starting Python, torch and edgenes (measured here).

It exits 1 when a check fails. Don't run it beside other heavy work.
"""
import argparse, json, os, platform, re, resource, socket, subprocess, sys, tempfile, time
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import slurm_cluster  # noqa: E402

EXE = str(Path(sys.executable).parent/'edgenes-reproduce')


def free_port_base()->int:
    "The first of four free ports in a row (slurmctld, slurmd, slurmdbd, mariadb), away from Slurm's defaults."
    def free(p):
        with socket.socket() as s: return s.connect_ex(('127.0.0.1', p)) != 0
    return next(b for b in range(26817, 30817, 4) if all(free(b + i) for i in range(4)))


def children_cpu()->float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN); return r.ru_utime + r.ru_stime


def batch(args:list, root:Path, env:dict|None=None)->dict:
    "One cold `edgenes-reproduce` in `root`: its result, wall-clock and CPU-seconds (this command and its notebooks)."
    cmd = [EXE, *args, '--out_dir', str(root/'fig'), '--cache_dir', str(root/'cache')]
    print(f'load average {os.getloadavg()[0]:.2f}; running {" ".join(cmd[1:])} {env or ""}', flush=True)
    c0, t0 = children_cpu(), time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    out = {'wall_seconds': time.perf_counter() - t0, 'command_cpu_seconds': children_cpu() - c0, 'returncode': p.returncode}
    if p.returncode: raise SystemExit(f'the batch failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}')
    return {**out, 'stdout': p.stdout}


def startup_cpu()->float:
    "CPU-seconds of a job's fixed start: Python, torch, edgenes.execute, and TorchDynamo (imported by a torch.optim optimizer)."
    code, out = 'import torch, edgenes.execute, torch._dynamo', []
    for _ in range(2): c0 = children_cpu(); subprocess.run([sys.executable, '-c', code], check=True); out.append(children_cpu() - c0)
    return min(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='smoke'); ap.add_argument('--seeds', default=''); ap.add_argument('--only', default='')
    ap.add_argument('--array_limit', type=int, default=os.cpu_count()); ap.add_argument('--cpus', type=int, default=1)
    ap.add_argument('--json', default='')
    a = ap.parse_args()
    if slurm_cluster.missing_packages():
        raise SystemExit(f"Debian's {' '.join(slurm_cluster.missing_packages())} are needed: `python3 tools/slurm_cluster.py install` as root")
    common = ['--preset', a.preset] + (['--seeds', a.seeds] if a.seeds else []) + (['--only', a.only] if a.only else [])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = startup_cpu()                                  # on a quiet machine, before the batches
        local = batch(common + ['--workers', '1'], tmp/'local', {'OMP_NUM_THREADS': str(a.cpus)})
        c = slurm_cluster.Cluster(tmp/'slurm', free_port_base())
        try:
            c.start(); os.environ['SLURM_CONF'] = str(c.conf)
            slurm = batch(common + ['--executor', 'slurm', '--array_limit', str(a.array_limit), '--cpus', str(a.cpus), '--slurm_folder', str(tmp/'logs')], tmp/'slurm-run')
            jobs = dict(re.findall(r'^(.+): submitted as Slurm job (\d+)$', slurm['stdout'], re.M))
            r = subprocess.run(['sacct', '-a', '-n', '-P', '-S', '2000-01-01', '-o', 'JobID,JobName,State,TotalCPU,Elapsed'],
                               capture_output=True, text=True, check=True)
        finally: c.stop(); os.environ.pop('SLURM_CONF', None)
        acct = [l.split('|') for l in r.stdout.splitlines() if l and '.' not in l.split('|')[0]]   # jobs, not their steps
        entries = len(list((tmp/'slurm-run'/'cache').rglob('*.pt')))
        n_plan = int(re.search(r'computing the plan: (\d+) artifacts', slurm['stdout']).group(1))
        reused = len(re.findall(r': already there, no job', slurm['stdout']))
        checks = {'one job per store entry': len(acct) == len(jobs) == entries,
                  'every job COMPLETED': {s for _, _, s, _, _ in acct} == {'COMPLETED'},
                  'job names unique': len({n for _, n, _, _, _ in acct}) == len(acct),
                  'plan = jobs + tasks with no job': n_plan == len(jobs) + reused}
        items, equal = [p.stem for p in sorted((tmp/'local'/'fig').glob('*/*.csv'))], {}
        for key in items:
            x, y = (pd.read_csv(next((tmp/d/'fig').glob(f'*/{key}.csv'))) for d in ('local', 'slurm-run'))
            timing = [col for col in x.columns if 'seconds' in col]
            try:
                pd.testing.assert_frame_equal(x.drop(columns=timing), y.drop(columns=timing, errors='ignore'), check_exact=True)
                equal[key] = True
            except AssertionError as e: equal[key] = False; print(f'{key}: tables differ\n{e}')
        checks['every table equal'] = bool(items) and all(equal.values())
    jobs_cpu = sum(slurm_cluster.sacct_seconds(x[3]) for x in acct)
    model = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name')), platform.machine())
    print(f"\nmachine: {model}, {os.cpu_count()} cores; preset {a.preset}{', seeds ' + a.seeds if a.seeds else ''}"
          f"{', items ' + a.only if a.only else ''}")
    print(f"in process ({a.cpus} thread(s)): {local['wall_seconds']:.0f} s wall, {local['command_cpu_seconds']:.0f} CPU-s")
    print(f"Slurm ({a.array_limit} jobs at most at once): {slurm['wall_seconds']:.0f} s wall; {len(jobs)} jobs for {n_plan} plan tasks "
          f"({reused} already in the store when ready); jobs {jobs_cpu:.0f} CPU-s ({sum(slurm_cluster.sacct_seconds(x[4]) for x in acct):.0f} s of job "
          f"wall-clock), the command {slurm['command_cpu_seconds']:.0f} CPU-s; starting Python, torch, edgenes and TorchDynamo: "
          f"{start:.1f} CPU-s a job, {start * len(jobs):.0f} in all")
    print('tables equal: ' + ', '.join(f"{k} {'yes' if v else 'NO'}" for k, v in equal.items()))
    for k, v in checks.items(): print(f"{'ok  ' if v else 'FAIL'} {k}")
    if a.json:
        commit = subprocess.run(['git', 'describe', '--always', '--dirty', '--abbrev=40'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        rec = {'preset': a.preset, 'seeds': a.seeds, 'only': a.only, 'array_limit': a.array_limit, 'cpus': a.cpus, 'machine': model, 'cores': os.cpu_count(),
               'commit': commit, 'in_process': {k: v for k, v in local.items() if k != 'stdout'},
               'slurm': {**{k: v for k, v in slurm.items() if k != 'stdout'}, 'jobs': len(jobs), 'plan_tasks': n_plan, 'reused': reused,
                         'jobs_cpu_seconds': jobs_cpu, 'job_start_cpu_seconds': start},
               'tables_equal': equal, 'checks': checks}
        Path(a.json).parent.mkdir(parents=True, exist_ok=True); Path(a.json).write_text(json.dumps(rec, indent=1))
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == '__main__':
    main()
