"""No host synchronisation inside a training iteration (issue 27), counted on the CPU.

Every training loop runs at the smoke preset with `edgenes.syncs.SyncCountCB`, which puts each training
iteration in its own phase of a `SyncCounter` (a TorchDispatchMode that sees `.item()`, `nonzero`, boolean
masks, ... on the CPU as on a GPU). A steady-state iteration (each epoch's first and last left out) must
make none; what happens once per epoch (metrics read, the discretised architecture) is printed, not limited.
The attacks are not a Learner loop: their synchronisations must not grow with the number of batches.
"""
import pytest, torch
from edgenes.config import get_preset, preset_kwargs
from edgenes.data import load_dataset, make_splits
from edgenes.runtime import Run
from edgenes.arch import random_arch
from edgenes.syncs import SyncCounter, SyncCountCB, per_iteration

P = get_preset('smoke')


@pytest.fixture(scope='module')
def splits():
    data = load_dataset(P.dataset)
    return make_splits(data, 0, P.valid_frac, P.n_train)


def run_loop(name, splits):
    from edgenes.search import darts_search, regularised_search
    from edgenes.hypernet import train_hypernet
    from edgenes.retrain import retrain
    from edgenes.dash import train_ensemble
    target, run = random_arch(0), Run('cpu', True)
    with SyncCounter() as c:
        cbs = [SyncCountCB(c)]
        if name == 'search': darts_search(splits, **preset_kwargs(darts_search, P, seed=0, cbs=cbs, run=run))
        elif name == 'regularised':
            kw = preset_kwargs(darts_search, P, seed=0, cbs=cbs, run=run); kw['a_lr'] = P.reg_a_lr or P.a_lr
            regularised_search(splits, target, 2, c=P.c, t=P.t, **kw)
        elif name == 'hypernet': train_hypernet(splits, target, **preset_kwargs(train_hypernet, P, seed=0, cbs=cbs, run=run))
        elif name == 'retrain':      # two epochs: the second with drop-path on; an auxiliary head
            retrain(target, splits, **preset_kwargs(retrain, P, seed=0, cbs=cbs, run=run, retrain_epochs=2, retrain_layers=3, auxiliary=0.4))
        else: train_ensemble([target] * P.ens_n, splits, trainer=name, **preset_kwargs(train_ensemble, P, seed=0, cbs=cbs, run=run))
    return c


@pytest.mark.parametrize('loop', ['search', 'regularised', 'hypernet', 'retrain', 'deep', 'sam', 'dash'])
def test_no_sync_in_a_training_iteration(splits, loop):
    c = run_loop(loop, splits)
    its = per_iteration(c)
    per_epoch = {p: dict(k) for p, k in c.counts.items() if not p.startswith('iter:') and k}
    print(f'{loop}: {len(its)} steady-state iterations, syncs in them {sum(its.values())}; outside them: {per_epoch}')
    assert len(its) >= 3, f'{loop}: too few iterations to see a steady state ({len(its)})'
    bad = {p: dict(c.counts[p]) for p, n in its.items() if n}
    where = {k: v for k, v in c.sites.items() if k[0] == 'iter'}
    assert not bad, f'{loop}: host syncs in training iterations: {dict(list(bad.items())[:3])}; first seen at {where}'


def test_attacks_sync_once_per_call_not_per_batch(splits):
    "FGSM and PGD over 1 batch and over 3 batches read the device the same number of times (the hit counts, once at the end)."
    from edgenes.network import Network
    from edgenes.retrain import network_args
    from edgenes.robust import adversarial_accuracy
    torch.manual_seed(0)
    nets = [Network(random_arch(k), **network_args(splits, P.retrain_C, P.retrain_layers, P.auxiliary)).eval() for k in range(2)]
    totals = {}
    for n_batches in (1, 3):
        with SyncCounter() as c:
            c.phase = 'attack'
            adversarial_accuracy(nets, splits.data, attack_eps=(2/255, 8/255), pgd_steps=2, attack_n=16 * n_batches, eval_bs=16,
                                 seed=0, run=Run('cpu', True))
        totals[n_batches] = c.total('attack')
    print(f'syncs of adversarial_accuracy: {totals} (1 and 3 batches)')
    assert totals[1] == totals[3], f'the attacks sync per batch: {totals}; first at {c.sites}'
