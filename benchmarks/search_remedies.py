"""Remedies against DARTS' early collapse onto parameter-free operations, measured at a preset's budget (issue 24, item 1).

    .venv/bin/python benchmarks/search_remedies.py [--preset quick] [--seeds 0,1,2] [--configs a,b,c,d,e,f,g,h] [--note FILE] [--random 3]
        [--workers 2] [--cache_dir DIR] [--out figures/quick/search_remedies]

Each configuration changes the first-order DARTS search only (everything else is the preset's; data seed 0):
  a  the preset as it is;
  b  weight-only warm-up, as PC-DARTS does: the first 4 of 8 epochs train the weights only, no architecture step;
  c  the same with 2 of 6 epochs;
  d  an architecture step 10x smaller (a_lr = preset's / 10);
  e  more images, fewer epochs: the search sees a split of 3,000 images for 2 epochs. Its validation part holds the
     preset's validation part (`make_splits` takes both from the front of one permutation), so the search never sees
     the images alpha* is chosen on; the retraining is the preset's, on the preset's split;
  f  weight-only warm-up, longer: 6 of 10 epochs (the same 4 architecture epochs as b, more weight steps before);
  g  6 of 8 epochs (b's weight steps and more, 2 architecture epochs); h  8 of 12 epochs (f's, longer still).
For every configuration and seed it searches alpha*, counts its parametric operations (those of `PRIMITIVES` other
than pooling, skip/identity and none) out of its edges, retrains alpha* as the preset does (`edgenes.retrain.retrain`,
the same seed) and reads its VALIDATION accuracy. The reference: `--random` random cells per seed (`random_arch` drawn
from `random.Random(seed)`, as the batch's random method draws them), retrained the same way, shared by all
configurations. Choose by validation accuracy against the random cells and by the parametric share only; the test
accuracy is recorded too, marked not used.

It prints a Markdown table and writes `<out>.json` (every run, its seconds, the commit and the machine) and `<out>.md`.
Each finished run is kept as a JSON file in `--cache_dir` (default: a fresh temporary folder), keyed by what it
computes, so an interrupted run resumes and the workers (spawned processes, one torch thread each) share it.
"""
import argparse, dataclasses, hashlib, json, multiprocessing, os, random, statistics, tempfile, time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {   # name: (words, preset overrides of the search, weight-only warm-up epochs)
    'a': ('the preset as it is', {}, 0),
    'b': ('weight-only warm-up: 4 of 8 epochs', {'search_epochs': 8}, 4),
    'c': ('weight-only warm-up: 2 of 6 epochs', {'search_epochs': 6}, 2),
    'd': ('architecture step 10x smaller', {'a_lr': 'x0.1'}, 0),
    'e': ('3,000 images, 2 epochs', {'n_train': 3000, 'search_epochs': 2}, 0),
    'f': ('weight-only warm-up: 6 of 10 epochs', {'search_epochs': 10}, 6),
    'g': ('weight-only warm-up: 6 of 8 epochs', {'search_epochs': 8}, 6),
    'h': ('weight-only warm-up: 8 of 12 epochs', {'search_epochs': 12}, 8),
}
THESIS = 'the thesis code\'s stored cells (4 read: two CIFAR-100 regularised searches, two numbered checkpoints): 17 of 24 inputs parametric'
_SPLITS = {}


def parametric(arch)->int:
    "Operations of `arch` other than pooling, skip/identity and none."
    return sum(not ('pool' in o or o in ('skip_connect', 'identity', 'none')) for _, _, o in arch.edges)


def _splits(P):
    from edgenes.data import load_dataset, make_splits
    k = (P.dataset, P.data_root, P.valid_frac, P.n_train)
    if k not in _SPLITS: _SPLITS[k] = make_splits(load_dataset(P.dataset, P.data_root), 0, P.valid_frac, P.n_train)
    return _SPLITS[k]


def _search(P, seed:int, warmup:int, run):
    "alpha* of a first-order DARTS search with the preset `P`; the first `warmup` epochs step the weights only."
    from edgenes.config import preset_kwargs
    from edgenes.search import DartsStepCB, darts_search, search_learner
    splits = _splits(P)
    if warmup == 0: return darts_search(splits, **preset_kwargs(darts_search, P, seed=seed, run=run)).arch
    class WarmupStepCB(DartsStepCB):
        "The DARTS step without its architecture step while `learn.epoch < warmup` (PC-DARTS' warm-up)."
        def step(self, learn):
            if learn.epoch >= warmup: return DartsStepCB.step(self, learn)
            (xw, yw), _ = learn.batch
            learn.preds, learn.yb = learn.model(xw), yw
            learn.loss = learn.loss_func(learn.preds, yw)
            learn.loss.backward(inputs=list(learn.model.net.parameters()))
            __import__('torch').nn.utils.clip_grad_norm_(learn.model.net.parameters(), self.grad_clip)
            learn.opts['weights'].step(); learn.model.zero_grad()
    step = WarmupStepCB(**preset_kwargs(DartsStepCB, P, w_lr_min=1e-3))
    learn = search_learner(splits, C=P.C, search_bs=P.search_bs, augment=P.augment, seed=seed, step_cb=step, run=run)
    return learn.fit(P.search_epochs).model.discretize(P.n_chosen, P.edge_rule)


def _job(args:tuple)->dict:
    "One run in a worker: ('search', preset, config, seed) searches and retrains alpha*; ('random', preset, seed, i) retrains a random cell."
    import torch
    torch.set_num_threads(1)
    from edgenes.config import get_preset, preset_kwargs
    from edgenes.retrain import retrain
    from edgenes.arch import random_arch, arch_id, arch_to_json
    from edgenes.runtime import Run
    kind, preset, key, seed, cache = args
    P, run = get_preset(preset), Run('cpu')
    # keyed by the preset's values, not its name: a run cached before a preset changed is not taken for one after
    f = Path(cache) / (hashlib.sha256(json.dumps([*args[:4], dataclasses.asdict(P)], default=str).encode()).hexdigest()[:20] + '.json')
    if f.exists(): return json.loads(f.read_text())
    out = {'kind': kind, 'seed': seed}
    if kind == 'search':
        over = {k: (getattr(P, k) * 0.1 if v == 'x0.1' else v) for k, v in CONFIGS[key][1].items()}
        t0 = time.perf_counter(); arch = _search(dataclasses.replace(P, **over), seed, CONFIGS[key][2], run)
        out.update(config=key, search_seconds=time.perf_counter() - t0)
    else:
        rng = random.Random(seed); arch = [random_arch(rng, P.n_chosen) for _ in range(key + 1)][key]
        out.update(index=key)
    t0 = time.perf_counter(); r = retrain(arch, _splits(P), **preset_kwargs(retrain, P, seed=seed, run=run))
    out.update(arch=arch_id(arch), arch_json=arch_to_json(arch), parametric=parametric(arch), edges=arch.n_edges,
               retrain_seconds=time.perf_counter() - t0, valid_accuracy=r.valid['accuracy'],
               test_accuracy_not_used=r.test['accuracy'])
    tmp = f.with_suffix('.tmp'); tmp.write_text(json.dumps(out)); tmp.replace(f)
    return out


def _pct(v): return f"{100 * v:.1f}"


def table(runs:list, configs:list, seeds:list)->tuple:
    "(rows, Markdown lines) of the finished runs."
    rand = [r for r in runs if r['kind'] == 'random']
    rmean = statistics.mean(r['valid_accuracy'] for r in rand) if rand else float('nan')
    rlo, rhi = (min(r['valid_accuracy'] for r in rand), max(r['valid_accuracy'] for r in rand)) if rand else (float('nan'),) * 2
    rseed = {s: statistics.mean(r['valid_accuracy'] for r in rand if r['seed'] == s) for s in seeds if any(r['seed'] == s for r in rand)}
    rows, md = [], ['| config | search change | alpha* valid acc % (mean) | per seed | random cells valid acc % (mean, range) '
                    '| seeds where alpha* beats its seed\'s random mean | alpha* above random (mean) | parametric ops | s per search | s per retraining |',
                    '|:--|:--|--:|:--|:--|:--|:--|:--|--:|--:|']
    for c in configs:
        rs = sorted((r for r in runs if r.get('config') == c), key=lambda r: r['seed'])
        if not rs: continue
        m = statistics.mean(r['valid_accuracy'] for r in rs)
        row = {'config': c, 'change': CONFIGS[c][0], 'seeds': [r['seed'] for r in rs], 'valid_mean': m,
               'valid_per_seed': [r['valid_accuracy'] for r in rs], 'random_mean': rmean, 'random_range': [rlo, rhi],
               'above_random': m > rmean, 'random_mean_per_seed': [rseed.get(r['seed']) for r in rs],
               'seeds_above_own_random': sum(r['valid_accuracy'] > rseed.get(r['seed'], 1) for r in rs), 'parametric': sum(r['parametric'] for r in rs), 'edges': sum(r['edges'] for r in rs),
               'parametric_per_seed': [r['parametric'] for r in rs],
               'seconds_per_search': statistics.mean(r['search_seconds'] for r in rs),
               'seconds_per_retraining': statistics.mean(r['retrain_seconds'] for r in rs),
               'test_mean_not_used': statistics.mean(r['test_accuracy_not_used'] for r in rs)}
        rows.append(row)
        md.append(f"| {c} | {row['change']} | {_pct(m)} | " + ', '.join(_pct(v) for v in row['valid_per_seed'])
                  + f" | {_pct(rmean)} ({_pct(rlo)}-{_pct(rhi)}, {len(rand)} cells) | {row['seeds_above_own_random']} of {len(rs)} | {'yes' if row['above_random'] else 'no'} "
                  f"| {row['parametric']} of {row['edges']} ({'/'.join(map(str, row['parametric_per_seed']))}) "
                  f"| {row['seconds_per_search']:.1f} | {row['seconds_per_retraining']:.1f} |")
    return rows, md


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog='\n'.join(__doc__.splitlines()[4:21]))
    ap.add_argument('--preset', default='quick', help='smoke | quick | medium | paper (default: quick)')
    ap.add_argument('--seeds', default='0,1,2', help='search and retraining seeds (default: 0,1,2)')
    ap.add_argument('--configs', default='a,b,c,d,e,f,g,h', help=f"configurations, of {','.join(CONFIGS)} (default: all)")
    ap.add_argument('--random', type=int, default=3, help='random cells per seed, the reference (default: 3)')
    ap.add_argument('--workers', type=int, default=2, help='worker processes (default: 2)')
    ap.add_argument('--cache_dir', default='', help='store of finished runs, shared by the workers (default: a fresh temporary folder)')
    ap.add_argument('--note', default='', help='a Markdown file appended to <out>.md as the reading of the results')
    ap.add_argument('--out', default='', help='write <out>.json and <out>.md (default: print only)')
    a = ap.parse_args(argv)
    try: seeds = [int(s) for s in a.seeds.split(',')]
    except ValueError: ap.error(f"--seeds {a.seeds!r}: expected comma-separated ints, e.g. --seeds 0,1,2")
    configs = [c.strip() for c in a.configs.split(',') if c.strip()]
    if bad := [c for c in configs if c not in CONFIGS]: ap.error(f"--configs: unknown {', '.join(bad)}; valid: {', '.join(CONFIGS)}")
    from edgenes.provenance import cpu_model, git_commit
    cache = a.cache_dir or tempfile.mkdtemp(prefix='search-remedies-'); Path(cache).mkdir(parents=True, exist_ok=True)
    order = sorted(configs, key=lambda c: -{'h': 12, 'f': 10, 'b': 8, 'g': 8, 'c': 6, 'e': 5}.get(c, 4))   # the longest searches first
    jobs = ([('search', a.preset, c, s, cache) for c in order for s in seeds]
            + [('random', a.preset, i, s, cache) for s in seeds for i in range(a.random)])
    t0, runs = time.perf_counter(), []
    with ProcessPoolExecutor(a.workers, mp_context=multiprocessing.get_context('spawn')) as pool:
        for fut in as_completed([pool.submit(_job, j) for j in jobs]):
            r = fut.result(); runs.append(r)
            print(f"[{time.perf_counter() - t0:6.0f} s] {r['kind']} {r.get('config', r.get('index'))} seed {r['seed']}: "
                  f"valid {_pct(r['valid_accuracy'])}%, {r['parametric']} of {r['edges']} parametric, {r['arch']}", flush=True)
    wall = time.perf_counter() - t0
    rows, md = table(runs, configs, seeds)
    rand = [r for r in runs if r['kind'] == 'random']
    rseed = {s: statistics.mean(r['valid_accuracy'] for r in rand if r['seed'] == s) for s in seeds if any(r['seed'] == s for r in rand)}
    machine = f"{cpu_model()}, {os.cpu_count()} cores"
    head = (f"{a.preset} preset, data seed 0, seeds {seeds}, {a.random} random cells per seed; retrained VALIDATION accuracy "
            f"(the test accuracy is in the .json, not used); {machine}; {wall:.0f} s wall on {a.workers} workers.")
    print('\n' + head + '\n' + '\n'.join(md) + f"\nreference: {THESIS}")
    if a.out:
        out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix('.json').write_text(json.dumps({'preset': a.preset, 'data_seed': 0, 'seeds': seeds, 'configs': {c: CONFIGS[c] for c in configs},
            'random_per_seed': a.random, 'rows': rows, 'runs': sorted(runs, key=lambda r: (r['kind'], str(r.get('config')), r['seed'], r.get('index', 0))),
            'thesis_reference': {'parametric': 17, 'inputs': 24, 'source': THESIS}, 'commit': git_commit(), 'machine': machine,
            'workers': a.workers, 'wall_seconds': wall}, indent=1) + '\n')
        out.with_suffix('.md').write_text('# Search remedies at ' + a.preset + '\n\n' + head + '\n\n' + '\n'.join(md)
                                          + f"\n\nRandom cells' validation accuracy per seed (mean): "
                                          + ', '.join(f"seed {s}: {_pct(v)}" for s, v in rseed.items())
                                          + f".\n\nReference: {THESIS}.\n" + (f"\n{Path(a.note).read_text()}" if a.note else ''))
    return rows


if __name__ == '__main__':
    main()
