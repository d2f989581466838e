"""Figure 3.1 at the quick preset with a larger architecture step for the hypernetwork only (the `hyper_a_lr` field).

    .venv/bin/python tools/hyper_lr_check.py 0.05 [0.3 ...]

Reuses alpha* from the cache of tools/method_check.py (runs/cache/quick); writes figures/method/quick/hyper_a_lr.json.
"""
import json, sys
from scipy.stats import spearmanr
from edgenes.config import get_preset
from edgenes.data import load_dataset, make_splits
from edgenes.arch import shared_edges
from edgenes.experiment import Experiment
from edgenes.store import Store
out = {}
for lr in map(float, sys.argv[1:]):
    P = get_preset('quick', hyper_a_lr=lr)
    exp = Experiment(P, make_splits(load_dataset(P.dataset), 0, P.valid_frac, P.n_train), 0, Store('runs/cache/quick'))
    star = exp.alpha_star(0).arch
    hr, _ = exp.hypernet(0)
    lams = [k / 2 for k in range(9)]
    sh = [shared_edges(hr.arch_at(l), star) for l in lams]
    rho = spearmanr(lams, sh)
    out[lr] = {'shared': sh, 'spearman': float(rho.statistic), 'p': float(rho.pvalue),
               'relaxed_count': [round(r['relaxed_count'], 3) for r in hr.history], 'search_hit': exp.cache.hits}
    print(lr, out[lr], flush=True)
json.dump(out, open('figures/method/quick/hyper_a_lr.json', 'w'), indent=1)
