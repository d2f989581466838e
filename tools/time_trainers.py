"""Wall-clock of the three ensemble trainers at a preset, on an otherwise idle machine (issue 5's closing note).

    python tools/time_trainers.py [--preset quick] [--seed 0]

Trains ens_n copies of alpha* (from the cache of the quick batch when it is there) with the Deep,
SAM and DASH trainers and prints seconds per trainer and the ratio to the Deep Ensemble.
"""
import argparse, json, time
from edgenes.config import get_preset, preset_kwargs
from edgenes.data import load_dataset, make_splits
from edgenes.experiment import Experiment
from edgenes.store import Store
from edgenes.dash import train_ensemble, TRAINERS

ap = argparse.ArgumentParser(); ap.add_argument('--preset', default='quick'); ap.add_argument('--seed', type=int, default=0)
ap.add_argument('--cache_dir', default='runs/cache/quick_batch'); a = ap.parse_args()
P = get_preset(a.preset)
exp = Experiment(P, make_splits(load_dataset(P.dataset, P.data_root), 0, P.valid_frac, P.n_train), 0, Store(f'{a.cache_dir}/{P.name}'))
star = exp.alpha_star(a.seed).arch
out = {}
for t in TRAINERS:
    t0 = time.perf_counter()
    r = train_ensemble([star] * P.ens_n, exp.splits, t, **preset_kwargs(train_ensemble, P, seed=a.seed))
    out[t] = {'seconds': time.perf_counter() - t0, 'fit_seconds': r.cost['seconds'], 'test_accuracy': r.test['accuracy']}
for t, v in out.items():
    print(f"{t:5s} {v['fit_seconds']:6.1f} s training ({v['fit_seconds'] / out['deep']['fit_seconds']:.2f}x deep), "
          f"{v['seconds']:6.1f} s with evaluation, test accuracy {100 * v['test_accuracy']:.1f}%")
print(json.dumps({'preset': P.name, 'seed': a.seed, 'members': P.ens_n, 'epochs': P.retrain_epochs, **out}))
