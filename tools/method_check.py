"""Measure the EdgeNES method at a preset: what the method issue asks to show, in one run.

    .venv/bin/python tools/method_check.py --preset quick [--seed 0] [--cache runs/cache] [--out figures/method]

1. Figure 3.1 in numbers: shared edges with alpha* of the hypernetwork's architecture at
   lambda = 0, 0.5, ..., Lambda, and their Spearman correlation with lambda.
2. Theorem 1: Monte Carlo against the closed form for Lambda in {2, 4, 8} and ensemble size n in {1, 3, 5}.
3. The six Table 3 methods: accuracy, NLL, Brier, ECE, diversity and search cost.
4. Theorem 1 measured: the count during the real hypernetwork training, for the EdgeNES ensemble.
Artifacts go through the on-disk cache, so a re-run only re-reads them. Writes <out>/<preset>/method_check.json.
"""
import argparse, json, time
from pathlib import Path
import numpy as np
from scipy.stats import spearmanr
from edgenes.config import get_preset
from edgenes.data import load_dataset, make_splits
from edgenes.arch import shared_edges, arch_from_json
from edgenes.experiment import Experiment
from edgenes.methods import run_method, METHODS
from edgenes.store import Store
from edgenes.theorem import expected_updates, simulate_updates, measured_updates
from edgenes.demo import run_record

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--preset', default='quick'); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--cache', default='runs/cache'); ap.add_argument('--out', default='figures/method')
    a = ap.parse_args()
    t0 = time.perf_counter()
    P = get_preset(a.preset)
    data = load_dataset(P.dataset, P.data_root)
    exp = Experiment(P, make_splits(data, 0, P.valid_frac, P.n_train), 0, Store(Path(a.cache)/P.name), progress=True)
    star = exp.alpha_star(a.seed).arch
    hr, log = exp.hypernet(a.seed)
    lams = [x / 2 for x in range(2 * star.n_edges + 1)]
    shared = [shared_edges(hr.arch_at(l), star) for l in lams]
    rho = spearmanr(lams, shared)
    fig31 = {'lam': lams, 'shared': shared, 'arch': [hr.arch_at(l).edges for l in lams],
             'spearman': float(rho.statistic), 'p': float(rho.pvalue), 'pivots': hr.hypernet.pivots.tolist()}
    mc = [{'Lambda': L, 'n': n, 'closed': expected_updates(L, n),
           **dict(zip(('mc', 'se'), simulate_updates(L, n, n_ensembles=4000, n_iters=200, seed=a.seed)))}
          for L in (2, 4, 8) for n in (1, 3, 5)]
    for r in mc: r['rel_diff'] = (r['mc'] - r['closed']) / r['closed']
    methods = {}
    for m in METHODS:
        t = time.perf_counter(); methods[m] = run_method(exp, m, a.seed).to_dict(); methods[m]['wall'] = time.perf_counter() - t
        print(m, {k: round(v, 4) for k, v in methods[m]['test'].items() if isinstance(v, float)}, flush=True)
    members = [arch_from_json(d) for d in methods['edgenes']['members']]
    measured = {**measured_updates([{**r, 'arch': arch_from_json(r['arch'])} for r in log], members, star),
                'closed': expected_updates(star.n_edges, len(members))}
    rec = run_record(preset=P.name, seed=a.seed, alpha_star=star.edges, fig3_1=fig31, theorem_mc=mc,
                     theorem_measured=measured, methods=methods, hyper_history=hr.history,
                     cache={'hits': exp.cache.hits, 'misses': exp.cache.misses}, wall_seconds=time.perf_counter() - t0)
    out = Path(a.out)/P.name; out.mkdir(parents=True, exist_ok=True)
    (out/'method_check.json').write_text(json.dumps(rec, indent=1, default=str))
    print(report(rec)); print(f'written {out/"method_check.json"}')

def report(rec):
    f = rec['fig3_1']
    lines = ['## Figure 3.1: shared edges of alpha(lambda) with alpha*', '| lambda | ' + ' | '.join(map(str, f['lam'])) + ' |',
             '|---' * (len(f['lam']) + 1) + '|', '| shared | ' + ' | '.join(map(str, f['shared'])) + ' |',
             f"Spearman rho = {f['spearman']:.3f} (p = {f['p']:.3g}); pivots {[round(x, 3) for x in f['pivots']]}", '',
             '## Theorem 1: Monte Carlo vs closed form', '| Lambda | n | closed | MC | s.e. | rel. diff |', '|---|---|---|---|---|---|']
    lines += [f"| {r['Lambda']} | {r['n']} | {r['closed']:.4f} | {r['mc']:.4f} | {r['se']:.4f} | {100*r['rel_diff']:+.2f}% |" for r in rec['theorem_mc']]
    m = rec['theorem_measured']
    lines += ['', f"Measured during hypernetwork training ({m['iters']} iterations, EdgeNES ensemble of {m['n']}): "
              f"all shared edges {m['m']:.3f}, inside alpha* {m['m_star']:.3f}; closed form {m['closed']:.3f}", '',
              '## Table 3 methods', '| method | members | test acc % | NLL | Brier | ECE | disagreement | pairwise KL | search s | retrain s |',
              '|---|---|---|---|---|---|---|---|---|---|']
    for k, r in rec['methods'].items():
        t, d, c = r['test'], r['diversity'], r['cost']
        lines.append(f"| {k} | {len(r['members'])} | {100*t['accuracy']:.1f} | {t['nll']:.3f} | {t['brier']:.3f} | {t['ece']:.3f} "
                     f"| {d['disagreement']:.3f} | {d['pairwise_kl']:.3f} | {c['search_seconds']:.0f} | {c['retrain_seconds']:.0f} |")
    lines.append(f"\nECE with {t['ece_bins']} bins; device {c['device']}; total wall-clock {rec['wall_seconds']/60:.1f} min; "
                 f"cache hits {rec['cache']['hits']}, misses {rec['cache']['misses']}")
    return '\n'.join(lines)

if __name__ == '__main__': main()
