"""The compiled path (issue 27), proven on the CPU.

`Run(compile='on')` compiles each training's network with `torch.compile(fullgraph=True)`: a graph break
raises instead of falling back, so a training that runs through one epoch compiled has whole graphs (the
property CUDA graphs need). With the `aot_eager` backend the graphs are captured (Dynamo) and
differentiated (AOTAutograd) without generating code: quick, and the results must equal eager. With
`inductor`, TorchInductor's CPU code runs: its kernels sum in other orders, and an epoch of training
amplifies those roundings in the trained weights. The tolerance is measured, not chosen: the same eager
training with oneDNN's convolutions switched off (PyTorch's native kernels: the same function summed in
another order, on every CPU) differs from the eager one by some largest relative gap per tensor; the
compiled training may differ from eager by no more than that. (Measured here, AMD EPYC: retraining, one
epoch at smoke: oneDNN off 1.7e-2, inductor 5.0e-3, aot_eager 0; the AVX2 kernel path against AVX-512 6.7e-3.)
Inductor is checked on the retraining only here (about a minute of compiling on one core); `benchmarks/phases.py`
runs every phase compiled with inductor (so each compiles without a graph break) and records its speed and compile time.

Also: `auto` leaves the CPU eager, and a compiled training's store key differs from the eager one's,
which is what it was before the setting existed.
"""
import pytest, torch
from edgenes.config import get_preset, preset_kwargs
from edgenes.data import load_dataset, make_splits
from edgenes.runtime import Run
from edgenes.arch import random_arch
from edgenes.numerics import rel_diff

P = get_preset('smoke')


@pytest.fixture(scope='module')
def splits():
    return make_splits(load_dataset(P.dataset), 0, P.valid_frac, P.n_train)


def tensors(x, pre=''):
    "Every tensor of a nested state (state_dicts, lists of them), by path."
    if isinstance(x, torch.Tensor): yield pre, x
    elif isinstance(x, dict):
        for k, v in x.items(): yield from tensors(v, f'{pre}.{k}')
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x): yield from tensors(v, f'{pre}[{i}]')


def train(loop, splits, run):
    "One epoch of `loop` at smoke; its trained state."
    from edgenes.search import darts_search
    from edgenes.hypernet import train_hypernet
    from edgenes.retrain import retrain
    from edgenes.dash import train_ensemble
    kw, target = dict(seed=0, run=run), random_arch(0)
    if loop == 'search': return darts_search(splits, **preset_kwargs(darts_search, P, **kw, search_epochs=1)).model.state_dict()
    if loop == 'hypernet': return train_hypernet(splits, target, **preset_kwargs(train_hypernet, P, **kw, hyper_epochs=1)).model.state_dict()
    if loop == 'retrain': return retrain(target, splits, **preset_kwargs(retrain, P, **kw, retrain_epochs=1)).model.state_dict()
    return train_ensemble([target, random_arch(1)], splits, trainer='dash', **preset_kwargs(train_ensemble, P, **kw, retrain_epochs=1)).weights


def largest_gap(a:dict, b:dict)->tuple:
    "The largest relative difference of two trained states' float tensors, and where."
    gaps = {k: rel_diff(a[k].float(), b[k].float()) for k in a if a[k].is_floating_point()}
    worst = max(gaps, key=gaps.get)
    return gaps[worst], worst


def compare(loop, splits, backend):
    import torch._dynamo
    torch._dynamo.reset()
    eager = dict(tensors(train(loop, splits, Run('cpu', True))))
    with torch.backends.mkldnn.flags(enabled=False): other = dict(tensors(train(loop, splits, Run('cpu', True))))
    comp = dict(tensors(train(loop, splits, Run('cpu', True, compile='on', compile_backend=backend))))
    assert set(eager) == set(comp), f'{loop}: the compiled training saves other tensors'
    tol, _ = largest_gap(eager, other)
    gap, worst = largest_gap(eager, comp)
    print(f'{loop} [{backend}]: {len(eager)} tensors, largest relative difference {gap:.2e} ({worst}); eager with oneDNN off: {tol:.2e}')
    assert gap <= tol, f'{loop} compiled with {backend} differs from eager more than another kernel order does: {worst} by {gap:.2e} > {tol:.2e}'
    assert all(torch.equal(eager[k], comp[k]) for k in eager if not eager[k].is_floating_point())


@pytest.mark.parametrize('loop', ['search', 'hypernet', 'retrain', 'dash'])
def test_whole_graphs_and_eager_numbers(splits, loop):
    "fullgraph=True through one epoch (a graph break or a recompile past the limit raises), equal to eager."
    compare(loop, splits, 'aot_eager')


def test_inductor_retraining_equals_eager(splits):
    compare('retrain', splits, 'inductor')


def test_auto_is_eager_on_the_cpu_and_keys_keep_their_value(splits):
    from edgenes.experiment import Experiment
    from edgenes.search import darts_search
    assert not Run('cpu').compiles and Run('cpu', compile='on').compiles
    eager = Experiment(P, splits, run=Run('cpu')).spec(darts_search)
    assert 'compiled' not in eager and 'compile' not in eager
    on = Experiment(get_preset('smoke', compile='on'), splits, run=Run('cpu')).spec(darts_search)
    assert on == {**eager, 'compiled': 'inductor'}
