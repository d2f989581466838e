"""Wall-clock of the three ensemble trainers (Deep, SAM, DASH) at a preset, on an otherwise idle machine.

    .venv/bin/python benchmarks/time_trainers.py [--preset quick] [--seed 0] [--cache_dir DIR] [--trainers deep,sam,dash]
        [--out FILE.json]

Trains `ens_n` copies of alpha*(seed) (from the store at `<cache_dir>/<preset>` when it is there, else searched first;
default: in memory) with each trainer, outside the store (each is timed every run), and prints the seconds per trainer
and their ratio to the Deep Ensemble's, the machine and the thread count.
"""
import argparse, json, os, time
from pathlib import Path
from _args import experiment_parser     # benchmarks/_args.py: run as a script, benchmarks/ is on sys.path


def time_trainers(exp, seed:int, trainers:list)->dict:
    "Seconds of training (`fit_seconds`) and with evaluation (`seconds`), and test accuracy, of each trainer on `exp`."
    from edgenes.config import preset_kwargs
    from edgenes.dash import train_ensemble
    star = exp.alpha_star(seed).arch
    out = {}
    for t in trainers:
        t0 = time.perf_counter()
        r = train_ensemble([star] * exp.P.ens_n, exp.splits, trainer=t, **preset_kwargs(train_ensemble, exp.P, seed=seed), run=exp.run)
        out[t] = {'seconds': time.perf_counter() - t0, 'fit_seconds': r.cost['seconds'], 'test_accuracy': r.test['accuracy']}
    return out


def main(argv:list|None=None):
    ap = experiment_parser(__doc__, 'seed of alpha* and of the ensembles')
    ap.add_argument('--trainers', default='deep,sam,dash', help='comma-separated trainers (the first is the reference)')
    ap.add_argument('--out', default='', help='a JSON file for the results (default: print only)')
    a = ap.parse_args(argv)
    import torch
    from edgenes.experiment import Experiment
    from edgenes.provenance import cpu_model, git_commit
    exp = Experiment.from_preset(a.preset, cache=Path(a.cache_dir)/a.preset if a.cache_dir else None)
    out = time_trainers(exp, a.seed, a.trainers.split(','))
    ref = next(iter(out))
    for t, v in out.items():
        print(f"{t:5s} {v['fit_seconds']:6.1f} s training ({v['fit_seconds'] / out[ref]['fit_seconds']:.2f}x {ref}), "
              f"{v['seconds']:6.1f} s with evaluation, test accuracy {100 * v['test_accuracy']:.1f}%")
    rec = {'preset': exp.P.name, 'seed': a.seed, 'members': exp.P.ens_n, 'epochs': exp.P.retrain_epochs, **out,
           'machine': f"{cpu_model()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads", 'commit': git_commit()}
    print(json.dumps(rec))
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(rec, indent=1))


if __name__ == '__main__': main()
