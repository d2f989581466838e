"""Seconds per training iteration of each phase (search, hypernetwork, retraining, DASH) at the smoke, quick and
paper presets' shapes, eager and compiled, with the compile time apart; and the paper batch projected from them.

    .venv/bin/python benchmarks/phases.py [--device cpu] [--presets smoke,quick,paper] [--modes eager,inductor]
                                          [--compiled_presets smoke,quick] [--iters 6] [--out figures/bench/phases]

Each (preset, phase, mode) runs in a fresh subprocess on synthetic images of the preset's data set's shape and
classes (CIFAR-100 is not available offline; the seconds depend on shapes, not on pixels): the phase's own
training function (`darts_search`, `train_hypernet`, `retrain`, `train_ensemble(trainer='dash')`) runs three epochs
of about `--iters` training iterations with the preset's settings (the search without its weight-only warm-up, so
that every epoch takes architecture steps). A callback times the training pass of each epoch (the device
synchronised at both ends): the third epoch gives the seconds per iteration; the rest of the three epochs' time is
the compile time (and warm-up) of a compiled run: a retraining compiles a second graph in its second epoch, when
drop-path switches on. Each subprocess has a fresh TorchInductor cache, so compile times are those of a first run. Seconds per epoch at the preset = seconds per iteration x its
iterations per epoch on its real data (search: half of the non-validation images per epoch, in batches of
`search_bs`; the others: all of them, in batches of `retrain_bs`).

`--modes` names torch.compile backends besides `eager` (`inductor`, `aot_eager`); compiled runs use
`Run(compile='on')` as a training would, on the presets of `--compiled_presets` (compiling the paper shape on a CPU
takes long and no setting does it: `auto` compiles on CUDA only). The record: `<out>.json` and a table `<out>.md`.
With every phase measured at the paper shape, it also projects the paper batch (the plan of `edgenes-reproduce
--preset paper`) from these per-epoch seconds with the cost model of `edgenes.cost` (fixed costs per artifact kept),
for each mode measured there.
"""
import argparse, json, math, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = ('search', 'hypernet', 'retrain', 'dash')
SHAPES = {'embedded': ((1, 28, 28), 10, 60_000), 'fashion_mnist': ((1, 28, 28), 10, 60_000),
          'cifar10': ((3, 32, 32), 10, 50_000), 'cifar100': ((3, 32, 32), 100, 50_000)}   # image shape, classes, training images


def synthetic(dataset:str, n_train:int, n_test:int=64, seed:int=0):
    "Random uint8 images and labels shaped like `dataset` (an `ImageData`)."
    import torch
    from edgenes.data import ImageData
    shape, k, _ = SHAPES[dataset]
    g = torch.Generator().manual_seed(seed)
    x = lambda n: torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)
    y = lambda n: torch.randint(0, k, (n,), generator=g)
    return ImageData(f'synthetic-{dataset}', x(n_train), y(n_train), x(n_test), y(n_test), k)


def iters_per_epoch(P, phase:str)->float:
    "Training iterations of one epoch of `phase` at preset `P` on its real data."
    n = P.n_train or SHAPES[P.dataset][2]
    used = n * (1 - P.valid_frac)
    return used / 2 / P.search_bs if phase in ('search', 'hypernet') else used / P.retrain_bs


def measure(preset:str, phase:str, mode:str, device:str, iters:int)->dict:
    "Time two epochs of `phase` at `preset`'s shapes (in this process)."
    import torch
    from edgenes.config import get_preset, preset_kwargs
    from edgenes.data import make_splits
    from edgenes.runtime import Run
    from edgenes.arch import random_arch
    P = get_preset(preset)
    bs = P.search_bs if phase in ('search', 'hypernet') else P.retrain_bs
    n = math.ceil((2 if phase in ('search', 'hypernet') else 1) * iters * bs / (1 - P.valid_frac)) + 2
    splits = make_splits(synthetic(P.dataset, n), 0, P.valid_frac, None)
    run = Run(device, True, compile='off' if mode == 'eager' else 'on', compile_backend='inductor' if mode == 'eager' else mode)
    sync = (lambda: torch.cuda.synchronize()) if run.dev.type == 'cuda' else (lambda: None)
    times = []
    class TimeCB:
        order = 1000
        def before_train(self, learn): sync(); self.t0 = time.perf_counter()
        def after_train(self, learn): sync(); times.append((time.perf_counter() - self.t0, learn.n_iter))
    kw = dict(seed=0, run=run, cbs=[TimeCB()])
    from edgenes.search import darts_search
    from edgenes.hypernet import train_hypernet
    from edgenes.retrain import retrain
    from edgenes.dash import train_ensemble
    t0 = time.perf_counter()
    if phase == 'search': darts_search(splits, **preset_kwargs(darts_search, P, **kw, search_epochs=3, search_warmup=0))
    elif phase == 'hypernet': train_hypernet(splits, random_arch(0), **preset_kwargs(train_hypernet, P, **kw, hyper_epochs=3))
    elif phase == 'retrain': retrain(random_arch(0), splits, **preset_kwargs(retrain, P, **kw, retrain_epochs=3))
    else: train_ensemble([random_arch(k) for k in range(P.ens_n)], splits, trainer='dash', **preset_kwargs(train_ensemble, P, **kw, retrain_epochs=3))
    total = time.perf_counter() - t0
    s3, n3 = times[-1]
    per_iter = s3 / n3
    return {'preset': preset, 'phase': phase, 'mode': mode, 'device': str(run.dev), 'iterations': n3, 'epoch_s': [s for s, _ in times],
            'ms_per_iteration': 1000 * per_iter, 'compile_s': max(sum(s for s, _ in times) - per_iter * sum(n for _, n in times), 0.) if mode != 'eager' else 0.,
            'iterations_per_epoch_at_preset': iters_per_epoch(P, phase), 'seconds_per_epoch_at_preset': per_iter * iters_per_epoch(P, phase),
            'wall_s': total, 'members': P.ens_n if phase == 'dash' else 1}


def project_paper(rows:list, mode:str)->dict|None:
    "GPU (or CPU) hours of the whole paper batch from the paper-shape per-epoch seconds of `mode` (None if a phase is missing)."
    at = {r['phase']: r for r in rows if r['preset'] == 'paper' and r['mode'] == mode and 'error' not in r}
    if set(at) != set(PHASES): return None
    from edgenes.data import register_dataset
    from edgenes.config import get_preset
    from edgenes.plan import RunSpec, make_plan
    from edgenes.cost import COST, model_seconds, TRAINER_COST
    P = get_preset('paper')
    register_dataset(P.dataset, lambda root, download: synthetic(P.dataset, SHAPES[P.dataset][2], 10_000), replace=True)
    (_, h, w), _, n = SHAPES[P.dataset]
    img = n * h * w / 784          # the cost model's images of an epoch (training and validation), in 28x28 units
    per_image = lambda phase, width: at[phase]['seconds_per_epoch_at_preset'] / (width ** 2 * img)
    dash_member = at['dash']['seconds_per_epoch_at_preset'] / at['dash']['members'] / TRAINER_COST['dash']
    cost = {'search': (COST['search'][0], per_image('search', P.C)), 'hypernet': (COST['hypernet'][0], per_image('hypernet', P.C)),
            'regularised': (COST['regularised'][0], per_image('search', P.C) * COST['regularised'][1] / COST['search'][1]),
            'retrain': (COST['retrain'][0], per_image('retrain', P.retrain_C)),
            'ensemble': (COST['ensemble'][0], dash_member / (P.retrain_C ** 2 * img)),
            'attack': (COST['attack'][0], COST['attack'][1] * per_image('retrain', P.retrain_C) / COST['retrain'][1])}
    spec = RunSpec('paper', {}, str(ROOT/'.cache'/'phases-projection'))
    from edgenes.paper import PAPER
    tasks = make_plan(spec, list(PAPER), list(P.seeds))
    exp = spec.experiment(read_only=True)
    by = {}
    for t in tasks: by[t.kind] = by.get(t.kind, 0.) + model_seconds(exp, t, cost)
    return {'mode': mode, 'artifacts': len(tasks), 'hours': sum(by.values()) / 3600, 'hours_by_kind': {k: v / 3600 for k, v in by.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='cpu'); ap.add_argument('--presets', default='smoke,quick,paper')
    ap.add_argument('--modes', default='eager,inductor'); ap.add_argument('--compiled_presets', default='smoke,quick')
    ap.add_argument('--phases', default=','.join(PHASES)); ap.add_argument('--iters', type=int, default=6)
    ap.add_argument('--out', default=str(ROOT/'figures'/'bench'/'phases')); ap.add_argument('--one', default='', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:                                   # the subprocess: one measurement, JSON on the last line
        p, ph, m = a.one.split(':')
        print(json.dumps(measure(p, ph, m, a.device, a.iters))); return
    sys.path.insert(0, str(ROOT))
    from edgenes.provenance import cpu_model
    rows = []
    for preset in a.presets.split(','):
        for mode in a.modes.split(','):
            if mode != 'eager' and preset not in a.compiled_presets.split(','): continue
            for phase in a.phases.split(','):
                import tempfile
                env = {**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1'),
                       'TORCHINDUCTOR_CACHE_DIR': tempfile.mkdtemp(prefix='phases-inductor-')}     # a first run's compile time
                r = subprocess.run([sys.executable, __file__, '--one', f'{preset}:{phase}:{mode}', '--device', a.device, '--iters', str(a.iters)],
                                   capture_output=True, text=True, env=env, cwd=ROOT)
                try: row = json.loads(r.stdout.strip().splitlines()[-1])
                except (IndexError, json.JSONDecodeError): row = {'preset': preset, 'phase': phase, 'mode': mode, 'error': r.stderr[-1500:]}
                rows.append(row)
                print(f"{preset:6} {phase:8} {mode:9} " + (f"{row['ms_per_iteration']:9.1f} ms/iteration  compile {row['compile_s']:6.1f} s  "
                      f"{row['seconds_per_epoch_at_preset']:9.1f} s/epoch at the preset" if 'error' not in row else 'FAILED: ' + row['error'][-300:]), flush=True)
    proj = [p for m in a.modes.split(',') if (p := project_paper(rows, m))]
    rec = {'benchmark': 'phases', 'device': a.device, 'cpu': cpu_model(), 'threads': os.environ.get('OMP_NUM_THREADS', '1'),
           'git': subprocess.run(['git', 'describe', '--always', '--dirty'], capture_output=True, text=True, cwd=ROOT).stdout.strip(),
           'iters': a.iters, 'rows': rows, 'paper_batch_projection': proj}
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix('.json').write_text(json.dumps(rec, indent=1))
    lines = [f"Phases, seconds per training iteration ({a.device}: {rec['cpu'] if a.device == 'cpu' else a.device}, {rec['threads']} thread(s), "
             f"commit {rec['git']}; `benchmarks/phases.py`)", '',
             '| preset | phase | mode | ms / iteration | compile (s) | s / epoch at the preset |', '|---|---|---|--:|--:|--:|']
    for r in rows:
        lines.append(f"| {r['preset']} | {r['phase']} | {r['mode']} | " + (f"{r['ms_per_iteration']:.1f} | {r['compile_s']:.1f} | {r['seconds_per_epoch_at_preset']:.1f} |"
                     if 'error' not in r else 'failed | | |'))
    for p in proj: lines += ['', f"Paper batch projected from the paper-shape rates ({p['mode']}): {p['hours']:.1f} hours for {p['artifacts']} artifacts "
                             + '(' + ', '.join(f'{k} {v:.1f}' for k, v in sorted(p['hours_by_kind'].items())) + ')']
    out.with_suffix('.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__': main()
