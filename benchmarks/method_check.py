"""Measure the EdgeNES method at a preset: Figure 3.1 in numbers, Theorem 1, the Table 3 methods, in one run.

    .venv/bin/python benchmarks/method_check.py [--preset quick] [--seed 0] [--cache_dir DIR] [--methods darts,edgenes]
        [--out figures/method] [--quiet]

1. Figure 3.1 in numbers: shared edges with alpha* of the hypernetwork's architecture at
   lambda = 0, 0.5, ..., Lambda, and their Spearman correlation with lambda.
2. Theorem 1: Monte Carlo against the closed form for Lambda in {2, 4, 8} and ensemble size n in {1, 3, 5}.
3. The Table 3 methods (every registered one, or `--methods`): accuracy, NLL, Brier, ECE, diversity and search cost.
4. Theorem 1 measured: the count during the real hypernetwork training, for the EdgeNES ensemble.

Artifacts go through the store at `<cache_dir>/<preset>` (default: in memory), so a re-run on the same folder only
re-reads them. With `--out`, writes `<out>/<preset>/method_check.json`; `figures/method/quick/method_check.json` is
`--preset quick --cache_dir runs/cache --out figures/method` (when this was tools/method_check.py).
"""
import argparse, json, time
from pathlib import Path
from _args import experiment_parser     # benchmarks/_args.py: run as a script, benchmarks/ is on sys.path


def measure(exp, seed:int, methods:list)->dict:
    "The four measurements on `exp` (an `edgenes.experiment.Experiment`) for `seed`, as a record."
    from scipy.stats import spearmanr
    from edgenes.arch import shared_edges, arch_from_json
    from edgenes.methods import run_method
    from edgenes.provenance import run_record
    from edgenes.theorem import expected_updates, simulate_updates, measured_updates
    t0 = time.perf_counter()
    star = exp.alpha_star(seed).arch
    hr, log = exp.hypernet(seed)
    lams = [x / 2 for x in range(2 * star.n_edges + 1)]
    shared = [shared_edges(hr.arch_at(l), star) for l in lams]
    rho = spearmanr(lams, shared)
    fig31 = {'lam': lams, 'shared': shared, 'arch': [hr.arch_at(l).edges for l in lams],
             'spearman': float(rho.statistic), 'p': float(rho.pvalue), 'pivots': hr.hypernet.pivots.tolist()}
    mc = [{'Lambda': L, 'n': n, 'closed': expected_updates(L, n),
           **dict(zip(('mc', 'se'), simulate_updates(L, n, n_ensembles=4000, n_iters=200, seed=seed)))}
          for L in (2, 4, 8) for n in (1, 3, 5)]
    for r in mc: r['rel_diff'] = (r['mc'] - r['closed']) / r['closed']
    res = {}
    for m in methods:
        t = time.perf_counter(); res[m] = run_method(exp, m, seed).to_dict(); res[m]['wall'] = time.perf_counter() - t
        print(m, {k: round(v, 4) for k, v in res[m]['test'].items() if isinstance(v, float)}, flush=True)
    measured = None
    if 'edgenes' in res:
        members = [arch_from_json(d) for d in res['edgenes']['members']]
        measured = {**measured_updates([{**r, 'arch': arch_from_json(r['arch'])} for r in log], members, star),
                    'closed': expected_updates(star.n_edges, len(members))}
    return run_record(preset=exp.P.name, seed=seed, alpha_star=star.edges, fig3_1=fig31, theorem_mc=mc,
                      theorem_measured=measured, methods=res, hyper_history=hr.history,
                      cache={'hits': exp.cache.hits, 'misses': exp.cache.misses}, wall_seconds=time.perf_counter() - t0)


def report(rec:dict)->str:
    "The record as Markdown tables."
    f = rec['fig3_1']
    lines = ['## Figure 3.1: shared edges of alpha(lambda) with alpha*', '| lambda | ' + ' | '.join(map(str, f['lam'])) + ' |',
             '|---' * (len(f['lam']) + 1) + '|', '| shared | ' + ' | '.join(map(str, f['shared'])) + ' |',
             f"Spearman rho = {f['spearman']:.3f} (p = {f['p']:.3g}); pivots {[round(x, 3) for x in f['pivots']]}", '',
             '## Theorem 1: Monte Carlo vs closed form', '| Lambda | n | closed | MC | s.e. | rel. diff |', '|---|---|---|---|---|---|']
    lines += [f"| {r['Lambda']} | {r['n']} | {r['closed']:.4f} | {r['mc']:.4f} | {r['se']:.4f} | {100*r['rel_diff']:+.2f}% |" for r in rec['theorem_mc']]
    m = rec['theorem_measured']
    if m: lines += ['', f"Measured during hypernetwork training ({m['iters']} iterations, EdgeNES ensemble of {m['n']}): "
                    f"all shared edges {m['m']:.3f}, inside alpha* {m['m_star']:.3f}; closed form {m['closed']:.3f}"]
    lines += ['', '## Table 3 methods', '| method | members | test acc % | NLL | Brier | ECE | disagreement | pairwise KL | search s | retrain s |',
              '|---|---|---|---|---|---|---|---|---|---|']
    for k, r in rec['methods'].items():
        t, d, c = r['test'], r['diversity'], r['cost']
        lines.append(f"| {k} | {len(r['members'])} | {100*t['accuracy']:.1f} | {t['nll']:.3f} | {t['brier']:.3f} | {t['ece']:.3f} "
                     f"| {d['disagreement']:.3f} | {d['pairwise_kl']:.3f} | {c['search_seconds']:.0f} | {c['retrain_seconds']:.0f} |")
    if rec['methods']: lines.append(f"\nECE with {t['ece_bins']} bins; device {c['device']}")
    lines.append(f"total wall-clock {rec['wall_seconds']/60:.1f} min; cache hits {rec['cache']['hits']}, misses {rec['cache']['misses']}")
    return '\n'.join(lines)


def main(argv:list|None=None):
    ap = experiment_parser(__doc__, 'seed of the run (the data split is seed 0)')
    ap.add_argument('--methods', default='', help='comma-separated methods of Table 3 (default: every registered one)')
    ap.add_argument('--out', default='', help='write <out>/<preset>/method_check.json (default: print only)')
    ap.add_argument('--quiet', action='store_true', help='no line per training epoch')
    a = ap.parse_args(argv)
    from edgenes.experiment import Experiment
    from edgenes.learner import ProgressCB
    from edgenes.methods import method_names
    methods = a.methods.split(',') if a.methods else method_names()
    exp = Experiment.from_preset(a.preset, cache=Path(a.cache_dir)/a.preset if a.cache_dir else None,
                                 cbs=() if a.quiet else (ProgressCB(),))
    rec = measure(exp, a.seed, methods)
    print(report(rec))
    if a.out:
        out = Path(a.out)/exp.P.name; out.mkdir(parents=True, exist_ok=True)
        (out/'method_check.json').write_text(json.dumps(rec, indent=1, default=str))
        print(f'written {out/"method_check.json"}')


if __name__ == '__main__': main()
