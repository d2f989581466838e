"""Wall-clock of a paper batch computed in process against K local worker processes (issue 14's target: 2 workers take
at most 0.6x the in-process time on the same machine).

    .venv/bin/python benchmarks/batch_workers.py [--preset smoke] [--workers 2] [--only ''] [--json figures/bench/batch_workers.json]

Each run is the whole `edgenes-reproduce` command (the plan and the notebooks on a read-only store) on a fresh,
empty store and output folder, one run after the other: first in process (`--workers 1`, torch's default threads),
then with `--workers K` (each worker sets torch.set_num_threads(max(1, cores // K)); K notebooks at a time, each
started as soon as its artifacts are there). Don't run
it beside other heavy work: it prints the load average before each run. It prints, for each run, the wall-clock of the
command, of its plan and of the notebooks that ran after it (from the batch's log, figures/<preset>/batches.jsonl), the
CPU-seconds of the command and its children, and the ratio; `--json` also records the commit and the CPU model, and keeps
the earlier measurements of that file under `history` (the run-to-run spread on this machine is several seconds).
"""
import argparse, json, os, platform, resource, subprocess, sys, tempfile, time
from pathlib import Path

EXE = str(Path(sys.executable).parent/'edgenes-reproduce')


def run(preset:str, workers:int, only:str)->dict:
    "One cold batch in fresh folders: wall-clock of the command, of its plan and of the notebooks."
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'}    # each run sets its own threads
        cmd = [EXE, '--preset', preset, '--workers', str(workers), '--cache_dir', f'{tmp}/cache', '--out_dir', f'{tmp}/fig']
        if only: cmd += ['--only', only]
        print(f'load average {os.getloadavg()[0]:.2f}; running {" ".join(cmd[1:])}', flush=True)
        cpu = lambda: (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(resource.RUSAGE_CHILDREN))
        c0, t0 = cpu(), time.perf_counter(); p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall, cpu_s = time.perf_counter() - t0, cpu() - c0
        if p.returncode != 0: raise SystemExit(f'the batch failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}')
        line = json.loads(next(Path(tmp, 'fig').glob('*/batches.jsonl')).read_text().splitlines()[-1])
        return {'workers': workers, 'wall_seconds': wall, 'cpu_seconds': cpu_s, 'plan_seconds': line['artifacts']['seconds'],
                'notebook_seconds': line['seconds'] - line['artifacts']['seconds'], 'artifacts': line['artifacts']['tasks'],
                'computed': line['artifacts']['computed']}


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='smoke'); ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--only', default=''); ap.add_argument('--json', default='')
    a = ap.parse_args()
    rows = [run(a.preset, 1, a.only), run(a.preset, a.workers, a.only)]
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; preset {a.preset}")
    for r in rows:
        print(f"workers {r['workers']}: {r['wall_seconds']:6.1f} s wall ({r['plan_seconds']:.1f} s plan of {r['artifacts']} artifacts, "
              f"{r['computed']} computed; {r['notebook_seconds']:.1f} s notebooks after it; {r['cpu_seconds']:.0f} CPU-s, "
              f"{r['cpu_seconds'] / r['wall_seconds']:.2f} cores busy)")
    ratio = rows[1]['wall_seconds'] / rows[0]['wall_seconds']
    print(f"ratio {a.workers} workers / in process: {ratio:.2f} (target <= 0.6)")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        commit = subprocess.run(['git', 'describe', '--always', '--dirty', '--abbrev=40'], cwd=Path(__file__).resolve().parents[1],
                                capture_output=True, text=True).stdout.strip()
        model = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name')), platform.machine())
        rec = {'preset': a.preset, 'runs': rows, 'ratio': ratio, 'cores': os.cpu_count(), 'machine': model, 'commit': commit}
        brief = lambda r: {'commit': r['commit'], 'machine': r['machine'], 'preset': r['preset'], 'ratio': r['ratio'],
                           'wall_seconds': [x['wall_seconds'] for x in r['runs']], 'workers': [x['workers'] for x in r['runs']]}
        old = json.loads(Path(a.json).read_text()) if Path(a.json).exists() else None   # earlier measurements stay, in order
        rec['history'] = (old.get('history') or [brief(old)] if old else []) + [brief(rec)]
        Path(a.json).write_text(json.dumps(rec, indent=1))
