"""The sweep that chose the regularised search's architecture step (`reg_a_lr`, Table 1; issue 15).

    .venv/bin/python benchmarks/reg_a_lr_sweep.py [--preset quick] [--values 0.003,0.01,0.03,0.1] [--seeds 0,1,2]
        [--lams 1,2,3] [--workers 2] [--cache_dir DIR] [--out figures/quick/reg_a_lr_sweep]

For each architecture step, seed and lambda it runs the regularised search of problem 2.1 with the warm-up, as the
batch's Table 1 does (the preset's settings; `reg_a_lr` set to the value), and measures how many edges the found
architecture shares with alpha*(seed). The criterion of issue 15: the mean distance |shared - lambda| at most 0.5 edges.
It prints, per value: the mean distance, the runs that reached lambda exactly and the shared edges per run; it writes
the same as `<out>.json` (with the commit, the machine and the seconds) and `<out>.md`.

Its runs behind the preset's value (this 2-core AMD EPYC): `figures/quick/reg_a_lr_sweep_1600.json` (the defaults, when
`quick` had 1,600 images: 0.1 chosen) and `figures/quick/reg_a_lr_sweep.json` (`--values 0.1,0.2,0.3,0.5` at 1,200
images: 0.3 chosen, the smallest step with which all 9 searches reached lambda).

alpha*(seed) is searched once per seed and kept in the store at `--cache_dir` (default: a fresh temporary folder), which
the workers share (the store locks each entry: one process computes it, the others wait and read it).
"""
import argparse, json, multiprocessing, os, statistics, subprocess, tempfile, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from edgenes.provenance import cpu_model

ROOT = Path(__file__).resolve().parents[1]


def _job(args:tuple)->dict:
    "One regularised search (or alpha* alone when lam is None) in a worker process; its shared edges and seconds."
    import torch
    torch.set_num_threads(1)
    from edgenes.plan import RunSpec
    from edgenes.arch import shared_edges
    preset, overrides, root, seed, lam = args
    exp = RunSpec(preset, overrides, root).experiment()
    t0 = time.perf_counter(); star = exp.alpha_star(seed).arch
    if lam is None: return {'seed': seed, 'seconds': time.perf_counter() - t0}
    t0 = time.perf_counter(); found = exp.regularised(seed, lam, True).arch
    return {'reg_a_lr': overrides['reg_a_lr'], 'seed': seed, 'lam': lam, 'shared': shared_edges(found, star),
            'seconds': time.perf_counter() - t0}


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='quick'); ap.add_argument('--values', default='0.003,0.01,0.03,0.1')
    ap.add_argument('--seeds', default='0,1,2'); ap.add_argument('--lams', default='1,2,3')
    ap.add_argument('--workers', type=int, default=2); ap.add_argument('--cache_dir', default='')
    ap.add_argument('--out', default='')
    a = ap.parse_args()
    def numbers(flag, text, kind):
        try: return [kind(v) for v in text.split(',')]
        except ValueError: ap.error(f"--{flag} {text!r}: expected comma-separated {kind.__name__}s, e.g. --{flag} {ap.get_default(flag)}")
    values, seeds, lams = numbers('values', a.values, float), numbers('seeds', a.seeds, int), numbers('lams', a.lams, int)
    root = a.cache_dir or tempfile.mkdtemp(prefix='reg-a-lr-')
    commit = subprocess.run(['git', 'describe', '--always', '--dirty', '--abbrev=40'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.workers, mp_context=multiprocessing.get_context('spawn')) as pool:
        list(pool.map(_job, [(a.preset, {'reg_a_lr': values[0]}, root, s, None) for s in seeds]))   # alpha* first
        runs = list(pool.map(_job, [(a.preset, {'reg_a_lr': v}, root, s, l) for v in values for s in seeds for l in lams]))
    wall = time.perf_counter() - t0
    rows = []
    for v in values:
        rs = [r for r in runs if r['reg_a_lr'] == v]
        dist = statistics.mean(abs(r['shared'] - r['lam']) for r in rs)
        rows.append({'reg_a_lr': v, 'mean_distance': dist, 'reached': sum(r['shared'] == r['lam'] for r in rs), 'runs': len(rs),
                     'shared': {f"lam={l}": [r['shared'] for r in rs if r['lam'] == l] for l in lams},
                     'seconds_per_search': statistics.mean(r['seconds'] for r in rs)})
    machine = f"{cpu_model()}, {os.cpu_count()} cores"
    print(f"\n{a.preset} preset, warm-up on, seeds {seeds}, lambdas {lams}; {machine}; {wall:.0f} s wall on {a.workers} workers")
    md = ['| reg_a_lr | mean distance from lambda (edges) | reached lambda | shared edges per seed | s per search |',
          '|---:|---:|:---|:---|---:|']
    for r in rows:
        md.append(f"| {r['reg_a_lr']:g} | {r['mean_distance']:.2f} | {r['reached']}/{r['runs']} | "
                  + '; '.join(f"{k}: {v}" for k, v in r['shared'].items()) + f" | {r['seconds_per_search']:.1f} |")
    print('\n'.join(md))
    if a.out:
        out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix('.md').write_text('\n'.join(md) + '\n')
        out.with_suffix('.json').write_text(json.dumps({'preset': a.preset, 'seeds': seeds, 'lams': lams, 'warmup': True,
            'rows': rows, 'runs': runs, 'commit': commit, 'machine': machine, 'workers': a.workers, 'wall_seconds': wall}, indent=1))
