"""Figure 3.1 with other architecture steps for the hypernetwork only (the preset field `hyper_a_lr`).

    .venv/bin/python benchmarks/hyper_lr_check.py [--values 0.05,0.3] [--preset quick] [--seed 0] [--cache_dir DIR]
        [--out figures/method/quick/hyper_a_lr.json]

For each value it trains the hypernetwork against alpha*(seed) at the preset with `hyper_a_lr` set to it and measures the
edges its architecture at lambda = 0, 0.5, ..., Lambda shares with alpha*, their Spearman correlation with lambda,
and the relaxed count per epoch. alpha* does not depend on `hyper_a_lr`, so it is searched once and shared through the
store at `<cache_dir>/<preset>` (default: in memory). The record behind the `quick` preset's `hyper_a_lr=0.05`
(nbs/00_config.ipynb) is `figures/method/quick/hyper_a_lr.json` (made when this was tools/hyper_lr_check.py, on the
store of method_check.py).
"""
import argparse, json
from pathlib import Path
from _args import experiment_parser     # benchmarks/_args.py: run as a script, benchmarks/ is on sys.path


def check(exp, seed:int)->dict:
    "Shared edges of the hypernetwork's architectures with alpha* along lambda, on `exp` (an `Experiment`)."
    from scipy.stats import spearmanr
    from edgenes.arch import shared_edges
    star = exp.alpha_star(seed).arch
    hr, _ = exp.hypernet(seed)
    lams = [k / 2 for k in range(2 * star.n_edges + 1)]
    sh = [shared_edges(hr.arch_at(l), star) for l in lams]
    rho = spearmanr(lams, sh)
    return {'shared': sh, 'spearman': float(rho.statistic), 'p': float(rho.pvalue),
            'relaxed_count': [round(r['relaxed_count'], 3) for r in hr.history]}


def main(argv:list|None=None):
    ap = experiment_parser(__doc__, 'seed of alpha* and of the hypernetwork')
    ap.add_argument('--values', default='0.05', help='comma-separated values of hyper_a_lr')
    ap.add_argument('--out', default='', help='a JSON file for the results (default: print only)')
    a = ap.parse_args(argv)
    try: values = [float(v) for v in a.values.split(',')]
    except ValueError: ap.error(f"--values {a.values!r}: expected comma-separated numbers, e.g. --values 0.05,0.3")
    from edgenes.store import Store
    from edgenes.experiment import Experiment
    store = Store(Path(a.cache_dir)/a.preset if a.cache_dir else None)      # one store: alpha* is searched once
    out = {}
    for lr in values:
        hits = store.hits
        out[lr] = {**check(Experiment.from_preset(a.preset, cache=store, hyper_a_lr=lr), a.seed), 'search_hit': store.hits - hits}
        print(lr, out[lr], flush=True)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == '__main__': main()
