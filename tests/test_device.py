"""Device correctness (issue 13): no tensor factory without a device unless a written reason says why it is on the CPU;
interpolation and ECE on the device of their inputs; RNG states of the Learner's device only; checkpoints that load with
weights_only=True and refuse another device type or other determinism settings; `set_determinism`; bit-identical
deterministic searches; kept results that hold CPU tensors only. Tests that need a GPU are skipped without one."""
import ast, dataclasses, inspect, os, random
from pathlib import Path
import numpy as np
import pytest
import torch
import edgenes
from edgenes.config import get_preset, preset_kwargs
from edgenes.runtime import set_determinism, precision_settings, run_settings
from edgenes.arch import random_arch, gumbel_samples, relaxed_shared_edges
from edgenes.hypernet import interpolate, train_hypernet
from edgenes.metrics import ece, ece_tensor
from edgenes.learner import Learner, TrainCB, CheckpointCB, _rng_states, _set_rng_states
from edgenes.runtime import Run
from edgenes.search import darts_search
from edgenes.retrain import retrain
from edgenes.dash import train_ensemble
from edgenes.network import Network
from edgenes.data import train_dls
from edgenes.robust import pgd

CPU, CUDA = torch.device('cpu'), torch.device('cuda')

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
TINY = dict(C=4, search_epochs=1, search_bs=32, a_lr=3e-3)

# -- the scan for tensor factories without a device
FACTORIES = {'zeros', 'ones', 'empty', 'full', 'arange', 'linspace', 'logspace', 'eye', 'tensor', 'as_tensor',
             'rand', 'randn', 'randint', 'randperm', 'normal'}     # the `*_like` variants inherit the device: not listed

def deviceless_factories(src:str, name:str='<src>')->list:
    "`name:line` of every `torch.<factory>(...)` call without `device=` whose lines carry no `# cpu: <reason>`."
    lines, out = src.splitlines(), []
    for n in ast.walk(ast.parse(src)):
        if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in FACTORIES
                and isinstance(n.func.value, ast.Name) and n.func.value.id == 'torch'): continue
        if any(k.arg == 'device' for k in n.keywords): continue
        text = '\n'.join(lines[n.lineno - 1:n.end_lineno])
        reason = text.split('# cpu:', 1)[1].split('\n')[0].strip() if '# cpu:' in text else ''
        if len(reason) < 3: out.append(f'{name}:{n.lineno}: {lines[n.lineno - 1].strip()}')
    return sorted(set(out))

def test_no_tensor_factory_without_device():
    pkg = Path(edgenes.__file__).parent
    files = sorted(pkg.glob('*.py'))
    assert len(files) > 10, files
    bad = [b for f in files for b in deviceless_factories(f.read_text(), f.name)]
    assert not bad, ("tensor factories without device= (pass the device of the tensors involved, or end the line with "
                     "'# cpu: <why it must be on the CPU>'; edit the notebook, not edgenes/):\n" + '\n'.join(bad))

def test_scan_is_not_vacuous():
    flagged = lambda s: deviceless_factories('import torch\n' + s + '\n')
    assert flagged('x = torch.zeros(3)')
    assert flagged('x = torch.randn(2,\n    3)')
    assert flagged('x = torch.arange(4)  # cpu:')                        # a reason must be written
    assert flagged('x = torch.tensor([1.])  # a comment that is not a reason')
    assert not flagged('x = torch.zeros(3, device=d)')
    assert not flagged('x = torch.zeros_like(y)')
    assert not flagged('x = torch.randperm(5)  # cpu: index bookkeeping on the host')
    assert not flagged('x = torch.full((2,),\n    1.)  # cpu: built on the host, copied once')

# -- interpolation and ECE run where their inputs are
@pytest.mark.parametrize('lam', [1.25, torch.tensor(1.25), torch.tensor(1.25, dtype=torch.float64), -0.3, 9.0])
def test_interpolate_on_the_pivots_device(lam):
    piv, vals = torch.tensor([0., 0.5, 2., 3.5, 4.]), torch.randn(5, 3)
    l = float(lam)
    k = min(max(int(np.searchsorted(piv[1:-1].numpy(), np.clip(l, 0, 4), side='right')), 0), 3)
    lc = min(max(l, 0.), 4.)
    s = (lc - piv[k].item()) / (piv[k + 1] - piv[k]).item()
    torch.testing.assert_close(interpolate(lam, piv, vals), (1 - s) * vals[k] + s * vals[k + 1])
    # on the 'meta' device there is no data: any int()/.item() on a tensor (a host synchronisation on a GPU) would raise
    m = interpolate(lam, piv.to('meta'), vals.to('meta'))
    assert m.device.type == 'meta' and m.shape == (3,)

@needs_cuda
def test_interpolate_on_cuda():
    piv, vals = torch.tensor([0., 0.5, 2., 3.5, 4.]), torch.randn(5, 3)
    for lam in (1.25, torch.tensor(1.25), torch.tensor(1.25, device='cuda')):
        out = interpolate(lam, piv.cuda(), vals.cuda())
        assert out.device.type == 'cuda'
        torch.testing.assert_close(out.cpu(), interpolate(1.25, piv, vals))

def test_ece_keeps_the_device():
    p, y = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]), torch.tensor([0, 1])
    assert ece(p, y, 10) == pytest.approx((abs(1 - 0.7) + abs(0 - 0.8)) / 2)
    m = ece_tensor(p.to('meta'), y.to('meta'), 10)
    assert m.device.type == 'meta' and m.shape == ()
    for dev in DEVICES:
        t = ece_tensor(p.to(dev), y.to(dev), 10)
        assert t.device.type == dev and t.item() == pytest.approx(ece(p, y, 10))

# -- random-number states
def test_rng_states_round_trip_cpu():
    s = _rng_states(CPU)
    assert s['device_type'] == 'cpu' and s['cuda'] is None
    a = (random.random(), np.random.rand(3).tolist(), torch.rand(3))
    _set_rng_states(s, CPU)
    b = (random.random(), np.random.rand(3).tolist(), torch.rand(3))
    assert a[:2] == b[:2] and torch.equal(a[2], b[2])

def test_rng_states_refuse_a_cuda_state_where_it_cannot_go():
    s = {**_rng_states(CPU), 'device_type': 'cuda', 'cuda': torch.zeros(16, dtype=torch.uint8)}
    with pytest.raises(ValueError, match="saved by a run on a cuda device and this run is on cpu"): _set_rng_states(s, CPU)
    with pytest.raises(ValueError, match="saved by a run on a cpu device"): _set_rng_states(_rng_states(CPU), CUDA)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available here"): _set_rng_states(s, CUDA)

@needs_cuda
def test_rng_states_restore_the_cuda_generator_of_the_run():
    s = _rng_states(CUDA)
    assert s['device_type'] == 'cuda' and s['cuda'].dtype == torch.uint8 and s['cuda'].device.type == 'cpu'
    a = torch.rand(5, device='cuda')
    _set_rng_states(s, CUDA)
    assert torch.equal(torch.rand(5, device='cuda'), a)
    if torch.cuda.device_count() > 1:          # saved on device 0, resumed on device 1: device 1's generator continues
        _set_rng_states(s, torch.device('cuda:1'))
        assert torch.equal(torch.rand(5, device='cuda:1').cpu(), a.cpu())

# -- checkpoints
def _tiny_learner(splits, ckpt, device='cpu', seed=0):
    torch.manual_seed(seed)
    m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10))
    return Learner(m, train_dls(splits, 64, False, seed).to(device), cbs=[TrainCB(lr=0.05), CheckpointCB(ckpt, meta={'seed': seed})])

def test_the_learner_runs_where_its_batches_go(tiny_splits):
    m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10))
    learn = Learner(m, train_dls(tiny_splits, 64).to('meta'))
    assert learn.device.type == 'meta' and next(learn.model.parameters()).device.type == 'meta'

def test_checkpoint_loads_with_weights_only(tiny_splits, tmp_path):
    ck = tmp_path/'ck.pt'
    _tiny_learner(tiny_splits, ck).fit(1)
    d = torch.load(ck, weights_only=True)
    assert d['format'] == 'edgenes.ckpt/1' and d['run']['device_type'] == 'cpu' and 'deterministic' in d['run']
    assert d['opts']['weights']['state'] and d['history'] and d['rng']['device_type'] == 'cpu'
    r = _tiny_learner(tiny_splits, ck).fit(2)         # and resumes from it
    assert r.start_epoch == 1 and len(r.history) == 2

@pytest.fixture(scope='module')
def cpu_runs(tiny_splits, tmp_path_factory):
    "A tiny search, hypernetwork, retraining and joint training on the CPU, each with a checkpoint: (results, checkpoint files)."
    d = tmp_path_factory.mktemp('runs')
    s = darts_search(tiny_splits, **TINY, ckpt=d/'s.pt')
    h = train_hypernet(tiny_splits, s.arch, hyper_epochs=1, C=4, search_bs=32, ckpt=d/'h.pt')
    r = retrain(s.arch, tiny_splits, retrain_C=4, retrain_epochs=1, ckpt=d/'r.pt')
    e = train_ensemble([s.arch] * 2, tiny_splits, trainer='dash', retrain_C=4, retrain_epochs=1, ckpt=d/'e.pt')
    return (s, h, r, e), [d/f'{n}.pt' for n in 'shre']

def test_search_hypernet_and_ensemble_checkpoints_load_with_weights_only(cpu_runs):
    for f in cpu_runs[1]:
        d = torch.load(f, weights_only=True)
        assert d['epoch'] == 0 and d['state'] and d['history'] and d['run']['device_type'] == 'cpu', f.name

@pytest.mark.parametrize('key, value', [('device_type', 'cuda'), ('deterministic', 'flip'), ('tf32_cudnn', 'flip')])
def test_checkpoint_refuses_another_device_type_or_determinism(tiny_splits, tmp_path, key, value):
    ck = tmp_path/'ck.pt'
    _tiny_learner(tiny_splits, ck).fit(1)
    d = torch.load(ck, weights_only=True)
    d['run'][key] = (not d['run'][key]) if value == 'flip' else value
    torch.save(d, ck)
    with pytest.raises(ValueError, match=f"another device type or with other determinism settings.*'{key}'"):
        _tiny_learner(tiny_splits, ck).fit(2)

# -- determinism
@pytest.fixture
def restore_flags():
    "Put torch's determinism and precision flags back as they were, whatever the test did."
    saved = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
             torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision(),
             os.environ.get('CUBLAS_WORKSPACE_CONFIG'))
    yield
    torch.use_deterministic_algorithms(saved[0]); torch.backends.cudnn.deterministic = saved[1]
    torch.backends.cudnn.benchmark = saved[2]; torch.backends.cuda.matmul.allow_tf32 = saved[3]
    torch.backends.cudnn.allow_tf32 = saved[4]; torch.set_float32_matmul_precision(saved[5])
    if saved[6] is None: os.environ.pop('CUBLAS_WORKSPACE_CONFIG', None)
    else: os.environ['CUBLAS_WORKSPACE_CONFIG'] = saved[6]

def test_set_determinism_sets_every_flag(restore_flags):
    torch.backends.cudnn.benchmark = True; torch.backends.cuda.matmul.allow_tf32 = True
    torch.set_float32_matmul_precision('medium'); os.environ.pop('CUBLAS_WORKSPACE_CONFIG', None)
    s = set_determinism(True)
    assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
    assert not torch.backends.cudnn.benchmark and not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    assert torch.get_float32_matmul_precision() == 'highest' and os.environ['CUBLAS_WORKSPACE_CONFIG'] == ':4096:8'
    assert s == precision_settings() and s['deterministic'] and not s['tf32_cudnn']
    s = set_determinism(False)
    assert not torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.deterministic
    assert torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32   # PyTorch's defaults
    with pytest.raises(TypeError, match='on must be a bool'): set_determinism('yes')

def test_every_preset_and_the_default_run_are_deterministic():
    for name in ('smoke', 'quick', 'medium', 'paper'): assert get_preset(name).deterministic is True
    assert Run().deterministic is True and Run().device is None
    for fn in (darts_search, train_hypernet, retrain, train_ensemble):   # the run context: one argument, `Run()` by default
        ps = inspect.signature(fn).parameters
        assert ps['run'].default is None and not {'device', 'deterministic', 'progress'} & set(ps), fn.__name__

@pytest.mark.parametrize('device', DEVICES)
def test_same_seed_deterministic_search_is_bit_identical(tiny_splits, device, restore_flags):
    a, b = (darts_search(tiny_splits, **TINY, seed=3, run=Run(device, deterministic=True)) for _ in range(2))
    assert torch.equal(a.alpha, b.alpha) and torch.equal(a.beta, b.beta) and a.arch == b.arch
    assert [r['train_loss'] for r in a.history] == [r['train_loss'] for r in b.history]
    assert a.cost['deterministic'] and a.cost['device_type'] == device and not a.cost['tf32_cudnn']
    now = run_settings(device)
    for k in ('device', 'device_type', 'deterministic', 'cudnn_benchmark', 'tf32_matmul', 'tf32_cudnn', 'matmul_precision'):
        assert a.cost[k] == now[k], k

# -- results that are kept hold CPU tensors
def _tensors(x, path='r'):
    "Every tensor inside a result (dataclass fields, dicts, lists, modules' state), with where it sits."
    if isinstance(x, torch.Tensor): yield path, x
    elif isinstance(x, torch.nn.Module): yield from _tensors(x.state_dict(), path)
    elif dataclasses.is_dataclass(x) and not isinstance(x, type):
        for f in dataclasses.fields(x):
            if f.name != 'model': yield from _tensors(getattr(x, f.name), f'{path}.{f.name}')
    elif isinstance(x, dict):
        for k, v in x.items(): yield from _tensors(v, f'{path}[{k!r}]')
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x): yield from _tensors(v, f'{path}[{i}]')

def _check_kept(results, device):
    for res in results:
        ts = list(_tensors(res))
        assert ts, type(res).__name__
        assert not [p for p, t in ts if t.device.type != 'cpu'], [p for p, t in ts if t.device.type != 'cpu']
        assert res.cost['device_type'] == device
    s, h, r, e = results
    assert h.hypernet is not h.model.arch and next(h.model.parameters()).device.type == device   # the live model stays
    assert r.cost['rng'] == device and e.cost['rng'] == device and s.cost['rng'] == 'cpu'

def test_kept_results_hold_cpu_tensors(cpu_runs): _check_kept(cpu_runs[0], 'cpu')

@needs_cuda
def test_kept_results_hold_cpu_tensors_cuda(tiny_splits):
    s = darts_search(tiny_splits, **TINY, run=Run('cuda'))
    h = train_hypernet(tiny_splits, s.arch, hyper_epochs=1, C=4, search_bs=32, run=Run('cuda'))
    r = retrain(s.arch, tiny_splits, retrain_C=4, retrain_epochs=1, run=Run('cuda'))
    e = train_ensemble([s.arch] * 2, tiny_splits, trainer='deep', retrain_C=4, retrain_epochs=1, run=Run('cuda'))
    _check_kept((s, h, r, e), 'cuda')

# -- one seed, one noise on every device
@needs_cuda
def test_noise_is_the_same_on_cpu_and_cuda():
    a, b = torch.randn(14, 7), torch.randn(14)
    torch.manual_seed(0); h0, g0 = gumbel_samples(a, b, 0.5)
    torch.manual_seed(0); h1, g1 = gumbel_samples(a.cuda(), b.cuda(), 0.5)
    torch.testing.assert_close(h1.cpu(), h0); torch.testing.assert_close(g1.cpu(), g0)
    star = random_arch(0)                                          # the target's tensors: built on the CPU, sent to the samples
    torch.testing.assert_close(relaxed_shared_edges(h1, g1, star).cpu(), relaxed_shared_edges(h0, g0, star))
    f = lambda x: torch.log_softmax(x.flatten(1)[:, :3] * 10, -1)
    x, y = torch.rand(4, 1, 4, 4), torch.tensor([0, 1, 2, 0])
    p0 = pgd(f, x, y, 0.1, steps=0, generator=torch.Generator().manual_seed(1))
    p1 = pgd(f, x.cuda(), y.cuda(), 0.1, steps=0, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(p1.cpu(), p0)

@needs_cuda
def test_deterministic_mode_runs_the_aux_head_backward_on_cuda(restore_flags):
    set_determinism(True)
    net = Network(random_arch(0), C=4, in_ch=3, layers=3, auxiliary=True).cuda().train()
    logits, aux = net(torch.randn(2, 3, 32, 32, device='cuda'))
    (logits.sum() + aux.sum()).backward()       # AdaptiveAvgPool2d's backward would raise here

@needs_cuda
def test_cuda_checkpoint_resume(tiny_splits, tmp_path, restore_flags):
    set_determinism(True)
    full = _tiny_learner(tiny_splits, tmp_path/'a.pt', 'cuda').fit(2)
    ck = tmp_path/'b.pt'
    _tiny_learner(tiny_splits, ck, 'cuda').fit(1)
    d = torch.load(ck, weights_only=True)
    assert d['run']['device_type'] == 'cuda' and d['rng']['cuda'] is not None
    resumed = _tiny_learner(tiny_splits, ck, 'cuda').fit(2)
    assert resumed.start_epoch == 1
    for k, v in full.model.state_dict().items(): assert torch.equal(resumed.model.state_dict()[k], v), k
    with pytest.raises(ValueError, match="another device type"): _tiny_learner(tiny_splits, ck, 'cpu').fit(3)
