"""Where the seed-to-seed spread of a retrained accuracy comes from, at a preset's budget (issue 24, item 2: the measurement).

    .venv/bin/python benchmarks/noise_sources.py [--preset quick] [--retrain_seeds 6] [--splits 6] [--search_seeds 0,1,2]
        [--random 0,1,2] [--arch_seeds 6] [--levers e8,n3000,e8n3000,e6,c6e8] [--lever_seeds 6] [--lever_splits 4]
        [--workers 2] [--cache_dir DIR] [--note FILE] [--out figures/quick/noise_sources]

A seed moves four things: the data split (`make_splits`' seed: which training images, which 15% are validation), the
architecture (alpha* of a search seed), the retraining's initialisation and batch order (the `seed` of
`edgenes.retrain.retrain`), and, as a sampling reference, the finite test set (1,000 images of the embedded data) and
validation part. The blocks, each read as a one-way decomposition (groups x retraining seeds):
  split   ONE architecture (alpha* of search seed 0, searched with the preset on data seed 0), retrained with retraining
          seeds 0..R-1 on data splits 0..D-1 (crossed). Within-split sd: retraining alone; between-split sd of the
          split means (net of the within part): the split, the architecture held fixed.
  arch    alpha* of the search seeds and random cells (`random_arch(random.Random(s), n_chosen)`), each retrained with
          retraining seeds 0..A-1 on data seed 0. Within-architecture sd: retraining; between-architecture sd of the means.
  levers  the fixed architecture at a changed retraining (e8: retrain_epochs=8; n3000: n_train=3000; e8n3000: both;
          e6: retrain_epochs=6; c6e8: retrain_C=6 and retrain_epochs=8, about the seconds of quick's 8 channels x 4),
          crossed over `--lever_splits` splits x `--lever_seeds` retraining seeds, with seconds per retraining.
Validation AND test accuracy are both outcomes here; nothing is chosen. The binomial sd sqrt(p(1-p)/n) of each at the
observed mean is printed beside them.

It prints Markdown tables and writes `<out>.json` (every run, its seconds, the commit and the machine) and `<out>.md`.
Each finished run is kept as a JSON file in `--cache_dir` (default: a fresh temporary folder), keyed by what it
computes, so an interrupted run resumes and the workers (spawned processes, one torch thread each) share it.
"""
import argparse, dataclasses, hashlib, json, math, multiprocessing, os, random, statistics, tempfile, time
from concurrent.futures import ProcessPoolExecutor, FIRST_COMPLETED, wait
from pathlib import Path

LEVERS = {'e8': ('retrain_epochs=8', {'retrain_epochs': 8}), 'n3000': ('n_train=3000', {'n_train': 3000}),
          'e8n3000': ('retrain_epochs=8, n_train=3000', {'retrain_epochs': 8, 'n_train': 3000}),
          'e6': ('retrain_epochs=6', {'retrain_epochs': 6}),
          'c6e8': ('retrain_C=6, retrain_epochs=8', {'retrain_C': 6, 'retrain_epochs': 8})}
_SPLITS = {}


def _splits(P, data_seed:int):
    from edgenes.data import load_dataset, make_splits
    k = (P.dataset, P.data_root, P.valid_frac, P.n_train, data_seed)
    if k not in _SPLITS: _SPLITS[k] = make_splits(load_dataset(P.dataset, P.data_root), data_seed, P.valid_frac, P.n_train)
    return _SPLITS[k]


def _job(args:tuple)->dict:
    "One run in a worker: ('search', preset, {}, seed, 0, None, cache) searches alpha* on data seed 0; ('retrain', preset, overrides, seed, data_seed, arch_json, cache) retrains."
    import torch
    torch.set_num_threads(1)
    from edgenes.config import get_preset, preset_kwargs
    from edgenes.arch import arch_id, arch_to_json, arch_from_json
    from edgenes.runtime import Run
    kind, preset, over, seed, data_seed, arch_json, cache = args
    P, run = dataclasses.replace(get_preset(preset), **over), Run('cpu')
    # keyed by the preset's values, not its name: a run cached before a preset changed is not taken for one after
    key = json.dumps([kind, dataclasses.asdict(P), seed, data_seed, arch_json], sort_keys=True, default=str)
    f = Path(cache) / (hashlib.sha256(key.encode()).hexdigest()[:20] + '.json')
    if f.exists(): return json.loads(f.read_text())
    t0 = time.perf_counter()
    if kind == 'search':
        from edgenes.search import darts_search
        arch = darts_search(_splits(P, data_seed), **preset_kwargs(darts_search, P, seed=seed, run=run)).arch
        out = {'kind': kind, 'seed': seed, 'arch': arch_id(arch), 'arch_json': arch_to_json(arch), 'seconds': time.perf_counter() - t0}
    else:
        from edgenes.retrain import retrain
        s = _splits(P, data_seed)
        r = retrain(arch_from_json(arch_json), s, **preset_kwargs(retrain, P, seed=seed, run=run))
        out = {'kind': kind, 'seed': seed, 'data_seed': data_seed, 'over': over, 'arch': arch_id(arch_from_json(arch_json)),
               'valid_accuracy': r.valid['accuracy'], 'test_accuracy': r.test['accuracy'], 'n_valid': len(s.valid),
               'n_test': len(s.data.x_test), 'seconds': time.perf_counter() - t0}
    tmp = f.with_suffix('.tmp'); tmp.write_text(json.dumps(out)); tmp.replace(f)
    return out


def _pct(v): return f"{100 * v:.1f}"


def oneway(groups:dict, key:str)->dict:
    "One-way decomposition of `key` over {group: [runs]}: pooled within sd, sd of the group means, between sd net of the within part."
    vals = {g: [r[key] for r in rs] for g, rs in groups.items() if rs}
    allv = [v for vs in vals.values() for v in vs]
    within = [statistics.variance(vs) for vs in vals.values() if len(vs) > 1]
    w = statistics.mean(within) if within else float('nan')
    means = [statistics.mean(vs) for vs in vals.values()]
    n_per = statistics.mean(len(vs) for vs in vals.values())
    vm = statistics.variance(means) if len(means) > 1 else float('nan')
    return {'n': len(allv), 'groups': len(vals), 'mean': statistics.mean(allv), 'sd_all': statistics.stdev(allv) if len(allv) > 1 else float('nan'),
            'min': min(allv), 'max': max(allv), 'sd_within': math.sqrt(w), 'sd_of_means': math.sqrt(vm),
            'sd_between': math.sqrt(max(0.0, vm - w / n_per)) if not math.isnan(vm) else float('nan')}


def block_md(title:str, groups:dict, group_word:str)->tuple:
    "(summary dict, Markdown lines) of one block."
    runs = [r for rs in groups.values() for r in rs]
    n_test, n_valid = runs[0]['n_test'], statistics.mean(r['n_valid'] for r in runs)
    sec = statistics.mean(r['seconds'] for r in runs)
    summ, md = {'title': title, 'seconds_per_retraining': sec}, [f"### {title}", '',
        f"| accuracy | n runs | {group_word}s | mean % | sd % (all runs) | min-max % | within-{group_word} sd % (retraining) "
        f"| sd of {group_word} means % | between-{group_word} sd % (net) | binomial sd % at the mean | s per retraining |",
        '|:--|--:|--:|--:|--:|:--|--:|--:|--:|--:|--:|']
    for key, n, word in (('test_accuracy', n_test, f'test ({n_test} images)'), ('valid_accuracy', n_valid, f'validation ({n_valid:.0f} images)')):
        d = oneway(groups, key); d['binomial_sd'] = math.sqrt(d['mean'] * (1 - d['mean']) / n); summ[key] = d
        md.append(f"| {word} | {d['n']} | {d['groups']} | {_pct(d['mean'])} | {_pct(d['sd_all'])} | {_pct(d['min'])}-{_pct(d['max'])} "
                  f"| {_pct(d['sd_within'])} | {_pct(d['sd_of_means'])} | {_pct(d['sd_between'])} | {_pct(d['binomial_sd'])} | {sec:.1f} |")
    md.append('')
    md.append(f"Per {group_word} (test mean / validation mean %, runs): " + '; '.join(
        f"{g}: {_pct(statistics.mean(r['test_accuracy'] for r in rs))} / {_pct(statistics.mean(r['valid_accuracy'] for r in rs))} ({len(rs)})"
        for g, rs in groups.items()) + '.')
    md.append('')
    return summ, md


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog='\n'.join(__doc__.splitlines()[4:24]))
    ap.add_argument('--preset', default='quick', help='smoke | quick | medium | paper (default: quick)')
    ap.add_argument('--retrain_seeds', type=int, default=6, help='R: retraining seeds 0..R-1 of the split block (default: 6)')
    ap.add_argument('--splits', type=int, default=6, help='D: data splits 0..D-1 of the split block (default: 6)')
    ap.add_argument('--search_seeds', default='0,1,2', help='search seeds whose alpha* enter the arch block; the first is the fixed architecture (default: 0,1,2)')
    ap.add_argument('--random', default='0,1,2', help='seeds s of the random cells random_arch(random.Random(s), n_chosen) (default: 0,1,2; "" for none)')
    ap.add_argument('--arch_seeds', type=int, default=6, help='retraining seeds 0..A-1 per architecture of the arch block (default: 6)')
    ap.add_argument('--levers', default='e8,n3000,e8n3000', help=f"retraining changes, of {','.join(LEVERS)} (default: all; \"\" for none)")
    ap.add_argument('--lever_seeds', type=int, default=6, help='retraining seeds per split of each lever (default: 6)')
    ap.add_argument('--lever_splits', type=int, default=4, help='data splits of each lever (default: 4)')
    ap.add_argument('--workers', type=int, default=2, help='worker processes (default: 2)')
    ap.add_argument('--cache_dir', default='', help='store of finished runs, shared by the workers (default: a fresh temporary folder)')
    ap.add_argument('--note', default='', help='a Markdown file appended to <out>.md as the reading of the results')
    ap.add_argument('--out', default='', help='write <out>.json and <out>.md (default: print only)')
    ap.add_argument('--dry', action='store_true', help='print the planned runs and their estimated time, run nothing')
    a = ap.parse_args(argv)
    try: sseeds = [int(s) for s in a.search_seeds.split(',')]; rseeds = [int(s) for s in a.random.split(',') if s.strip()]
    except ValueError: ap.error('--search_seeds/--random: expected comma-separated ints, e.g. 0,1,2')
    levers = [l.strip() for l in a.levers.split(',') if l.strip()]
    if bad := [l for l in levers if l not in LEVERS]: ap.error(f"--levers: unknown {', '.join(bad)}; valid: {', '.join(LEVERS)}")
    # the plan; estimates from figures/quick/search_remedies.md (15 s per search, 3.3 s per retraining on one thread)
    est = {'': 3.3, 'e8': 6.6, 'n3000': 8.3, 'e8n3000': 16.5, 'e6': 5.0, 'c6e8': 4.0}
    plan = {'searches': (len(sseeds), 15.0), 'split': (a.splits * a.retrain_seeds, est['']),
            'arch': ((len(sseeds) + len(rseeds)) * a.arch_seeds, est[''])}
    plan.update({f'lever {l}': (a.lever_splits * a.lever_seeds, est[l]) for l in levers})
    total = sum(n * s for n, s in plan.values())
    print('planned runs: ' + '; '.join(f"{k} {n} (~{n * s:.0f} s)" for k, (n, s) in plan.items())
          + f"; ~{total:.0f} worker-seconds, ~{total / a.workers / 60:.1f} min wall on {a.workers} workers (overlap runs shared)", flush=True)
    if a.dry: return plan
    from edgenes.provenance import cpu_model, git_commit
    from edgenes.arch import arch_to_json, random_arch
    from edgenes.config import get_preset
    P = get_preset(a.preset)
    cache = a.cache_dir or tempfile.mkdtemp(prefix='noise-sources-'); Path(cache).mkdir(parents=True, exist_ok=True)
    rnd = {f'random {s}': arch_to_json(random_arch(random.Random(s), P.n_chosen)) for s in rseeds}
    t0, archs, runs = time.perf_counter(), {}, {}

    def rjob(over, seed, ds, aj): return ('retrain', a.preset, over, seed, ds, aj, cache)

    def dependents(name, aj):   # the retrainings of one architecture
        out = [rjob({}, s, 0, aj) for s in range(a.arch_seeds)]
        if name == f'alpha* {sseeds[0]}':
            out = ([rjob(LEVERS[l][1], s, d, aj) for l in levers for d in range(a.lever_splits) for s in range(a.lever_seeds)]
                   + [rjob({}, s, d, aj) for d in range(a.splits) for s in range(a.retrain_seeds)] + out)
        return out

    with ProcessPoolExecutor(a.workers, mp_context=multiprocessing.get_context('spawn')) as pool:
        pend, seen = {}, set()

        def submit(kind, j):
            k = json.dumps(j[:6], sort_keys=True)
            if k not in seen: seen.add(k); pend[pool.submit(_job, j)] = (kind, j if kind == 'retrain' else f'alpha* {j[3]}')
        for s in sseeds: submit('search', ('search', a.preset, {}, s, 0, None, cache))
        for name, aj in rnd.items():
            for j in dependents(name, aj): submit('retrain', j)
        while pend:
            done, _ = wait(pend, return_when=FIRST_COMPLETED)
            for fut in done:
                kind, what = pend.pop(fut); r = fut.result()
                if kind == 'search':
                    archs[what] = r; print(f"[{time.perf_counter() - t0:6.0f} s] search {what}: {r['arch']} ({r['seconds']:.1f} s)", flush=True)
                    for j in dependents(what, r['arch_json']): submit('retrain', j)
                else:
                    runs[json.dumps(what[:6], sort_keys=True)] = r
                    print(f"[{time.perf_counter() - t0:6.0f} s] {len(runs)}/{len(seen) - len(sseeds)} retrain {r['arch']} over {r['over']} data {r['data_seed']} seed {r['seed']}: "
                          f"test {_pct(r['test_accuracy'])}%, valid {_pct(r['valid_accuracy'])}% ({r['seconds']:.1f} s)", flush=True)
    wall = time.perf_counter() - t0
    allarch = {**{k: v['arch_json'] for k, v in archs.items()}, **rnd}
    fixed = allarch[f'alpha* {sseeds[0]}']

    def get(over, seed, ds, aj): return runs[json.dumps(rjob(over, seed, ds, aj)[:6], sort_keys=True)]
    blocks = [(f"Split block: one architecture (alpha* of search seed {sseeds[0]}), {a.splits} splits x {a.retrain_seeds} retraining seeds",
               {f'split {d}': [get({}, s, d, fixed) for s in range(a.retrain_seeds)] for d in range(a.splits)}, 'split'),
              (f"Architecture block: {len(allarch)} architectures x {a.arch_seeds} retraining seeds, data seed 0",
               {k: [get({}, s, 0, aj) for s in range(a.arch_seeds)] for k, aj in allarch.items()}, 'architecture'),
              (f"Architecture block, alpha* only: {len(archs)} architectures x {a.arch_seeds} retraining seeds, data seed 0",
               {k: [get({}, s, 0, archs[k]['arch_json']) for s in range(a.arch_seeds)] for k in archs}, 'architecture')]
    if levers:
        blocks.append((f"Lever baseline (quick's retraining): the split block restricted to {a.lever_splits} splits x {a.lever_seeds} seeds",
                       {f'split {d}': [get({}, s, d, fixed) for s in range(a.lever_seeds)] for d in range(a.lever_splits)}, 'split'))
    for l in levers:
        blocks.append((f"Lever {l} ({LEVERS[l][0]}): the fixed architecture, {a.lever_splits} splits x {a.lever_seeds} retraining seeds",
                       {f'split {d}': [get(LEVERS[l][1], s, d, fixed) for s in range(a.lever_seeds)] for d in range(a.lever_splits)}, 'split'))
    summ, md = [], []
    for title, groups, word in blocks:
        s, m = block_md(title, groups, word); summ.append(s); md += m
    machine = f"{cpu_model()}, {os.cpu_count()} cores"
    head = (f"{a.preset} preset; architectures: " + ', '.join(f"{k} = {v['arch']}" for k, v in archs.items())
            + f"; random cells: {', '.join(rnd) or 'none'}; {machine}; {wall:.0f} s wall on {a.workers} workers (one torch thread each). "
            "sd: sample sd over runs; within sd: pooled over the groups; between sd (net): sqrt(max(0, var(group means) - within var / runs per group)). "
            "The validation part differs between splits, the test set (1,000 images) is the same for every run.")
    print('\n' + head + '\n\n' + '\n'.join(md))
    if a.out:
        out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix('.json').write_text(json.dumps({'preset': a.preset, 'archs': archs, 'random': rnd, 'levers': {l: LEVERS[l] for l in levers},
            'blocks': summ, 'runs': sorted(runs.values(), key=lambda r: (json.dumps(r['over']), r['arch'], r['data_seed'], r['seed'])),
            'commit': git_commit(), 'machine': machine, 'workers': a.workers, 'wall_seconds': wall, 'argv': argv}, indent=1) + '\n')
        out.with_suffix('.md').write_text('# Noise sources at ' + a.preset + '\n\n' + head + '\n\n' + '\n'.join(md)
                                          + (f"\n{Path(a.note).read_text()}" if a.note else ''))
    return summ


if __name__ == '__main__':
    main()
