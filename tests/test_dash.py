"""DASH and the other ensemble trainers (edgenes.dash), and the attacks of edgenes.robust: the properties issue 5 asks for."""
import copy
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from edgenes.dash import ensemble_step, ascent, diversity, nontarget_log_probs, trainer_settings, train_ensemble
from edgenes.robust import fgsm, pgd
from edgenes.stats import pairwise_kl
from edgenes.numerics import check_close, float_tol


def tiny(seed, dtype=torch.float32):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 64, 10)).to(dtype)


def members(M=3, lr=0.1, dtype=torch.float32):
    ms = [tiny(s, dtype) for s in range(M)]
    return ms, [torch.optim.SGD(m.parameters(), lr, momentum=0.9, weight_decay=5e-4) for m in ms]


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(32, 3, 8, 8, generator=g), torch.randint(0, 10, (32,), generator=g)


# Two computations of the same step sum in different orders (and the CPU's kernels choose the order), so they are
# compared by edgenes.numerics' rule: n x eps of the dtype relative to each tensor's largest value, n the longest sum.
# Here that is the gradient norm of SAM's ascent, over every parameter of a member; float64 makes it the exactness check.
N_PARAMS = sum(p.numel() for p in tiny(0).parameters())


def same_state(a, b, dtype):
    pairs = [(va.double(), vb.double()) for va, vb in zip(a.state_dict().values(), b.state_dict().values())]
    check_close(pairs, N_PARAMS, dtype, names=list(a.state_dict()))


def exactly_equal(a, b):
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()): assert torch.equal(va, vb), k


def sam_step_by_hand(m, opt, x, y, rho, clip):
    "SAM as written in Foret et al.: ascent along the normalised gradient, gradient there, step from the original point."
    ps = list(m.parameters())
    g = torch.autograd.grad(F.cross_entropy(m(x), y), ps)                 # clean pass: BN statistics move here
    norm = torch.sqrt(sum((gi ** 2).sum() for gi in g))
    e = [rho * gi / (norm + 1e-12) for gi in g]
    bufs = {k: v.clone() for k, v in m.state_dict().items() if 'running' in k or 'num_batches' in k}
    with torch.no_grad():
        for p, ei in zip(ps, e): p += ei
    g2 = torch.autograd.grad(F.cross_entropy(m(x), y), ps)
    with torch.no_grad():
        for p, ei in zip(ps, e): p -= ei
    m.load_state_dict({**m.state_dict(), **bufs})                          # the perturbed pass leaves BN alone
    for p, gi in zip(ps, g2): p.grad = gi.clone()
    torch.nn.utils.clip_grad_norm_(ps, clip)
    opt.step(); opt.zero_grad()


@pytest.mark.kernels
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_dash_without_diversity_and_gamma_is_per_member_sam(batch, dtype):
    x, y = batch[0].to(dtype), batch[1]
    a, oa = members(dtype=dtype); b, ob = members(dtype=dtype)
    for _ in range(3):
        for m in a + b: m.train()
        ensemble_step(a, oa, x, y, rho=0.05, beta=0., gamma=0., clip=5.)
        for m, o in zip(b, ob): sam_step_by_hand(m, o, x, y, 0.05, 5.)
    for ma, mb in zip(a, b): same_state(ma, mb, dtype)
    if dtype == torch.float64: assert float_tol(dtype, N_PARAMS) < 1e-11


def test_dash_with_beta_differs_from_sam(batch):
    "The diversity term does change the step (so the test above is not vacuous)."
    x, y = batch
    a, oa = members(); b, ob = members()
    for m in a + b: m.train()
    ensemble_step(a, oa, x, y, rho=0.05, beta=0.); ensemble_step(b, ob, x, y, rho=0.05, beta=5.)
    assert max((pa - pb).abs().max().item() for pa, pb in zip(a[0].parameters(), b[0].parameters())) > 1e-6


@pytest.mark.kernels
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_sam_with_rho_zero_is_the_plain_step(batch, dtype):
    x, y = batch[0].to(dtype), batch[1]
    a, oa = members(dtype=dtype); b, ob = members(dtype=dtype); c, oc = members(dtype=dtype)
    for _ in range(3):
        for m in a + b + c: m.train()
        ensemble_step(a, oa, x, y, rho=0., beta=0.)                      # SAM at rho = 0
        ensemble_step(b, ob, x, y, rho=None)                            # the Deep Ensemble's plain step
        for m, o in zip(c, oc):                                         # and a plain step written out
            F.cross_entropy(m(x), y).backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 5.); o.step(); o.zero_grad()
    for ma, mb, mc in zip(a, b, c):
        exactly_equal(ma, mb)                                         # one code path: bit for bit
        same_state(ma, mc, dtype)                                     # written out by hand: the same function


def _kl_after_ascent(ms, x, y, beta, rho=0.5):
    for m in ms: m.train()
    eps = ascent(ms, [m(x) for m in ms], y, rho=rho, beta=beta, tau=1.)
    ps = [list(m.parameters()) for m in ms]
    with torch.no_grad():
        for p, e in zip(ps, eps):
            for pi, ei in zip(p, e): pi += ei
        for m in ms: m.eval()
        z = [m(x) for m in ms]
        for p, e in zip(ps, eps):
            for pi, ei in zip(p, e): pi -= ei
    nt = [nontarget_log_probs(zi, y) for zi in z]
    nontarget = torch.stack([diversity(z[i], [nt[j] for j in range(len(z)) if j != i], y) for i in range(len(z))]).mean().item()
    return nontarget, pairwise_kl([zi.softmax(-1) for zi in z])


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_larger_diversity_weight_raises_pairwise_kl_in_the_ascent(seed):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(64, 3, 8, 8, generator=g), torch.randint(0, 10, (64,), generator=g)
    ms = [tiny(10 * seed + i) for i in range(3)]
    kl = {beta: _kl_after_ascent(copy.deepcopy(ms), x, y, beta) for beta in (0., 1., 5.)}
    print({b: (round(k[0], 4), round(k[1], 4)) for b, k in kl.items()})
    assert kl[0.][0] < kl[1.][0] < kl[5.][0]          # the non-target KL the term measures
    assert kl[0.][1] < kl[5.][1]                      # and the KL of the full predictions


def test_trainer_settings_reject_bad_input():
    with pytest.raises(ValueError, match='valid: deep, sam, dash'): trainer_settings('swag', 0.05, 0.5, 1., 0.)
    with pytest.raises(TypeError, match='rho must be a number'): trainer_settings('dash', '0.05', 0.5, 1., 0.)
    with pytest.raises(ValueError, match='0 <= gamma <= 1'): trainer_settings('dash', 0.05, 0.5, 1., 2.)
    with pytest.raises(ValueError, match='tau > 0'): trainer_settings('dash', 0.05, 0.5, 0., 0.)


class Crash(Exception): pass


def test_train_ensemble_resumes_to_the_same_members(tmp_path, tiny_splits):
    "A joint training killed after its first epoch and resumed ends where an uninterrupted one does, bit for bit."
    from edgenes.arch import random_arch
    from edgenes.learner import Callback
    class CrashAfterFirst(Callback):
        order = 200                                               # after the checkpoint (order 100) is written
        def after_epoch(self, learn):
            if learn.epoch == 0: raise Crash('killed')
    archs = [random_arch(0), random_arch(1)]
    from edgenes.runtime import Run
    kw = dict(retrain_C=4, retrain_epochs=2, retrain_bs=64, seed=3, run=Run('cpu'))
    full = train_ensemble(archs, tiny_splits, trainer='dash', **kw)
    ck = tmp_path / 'ens.pt'
    with pytest.raises(Crash): train_ensemble(archs, tiny_splits, trainer='dash', ckpt=ck, cbs=[CrashAfterFirst()], **kw)
    assert ck.exists()
    resumed = train_ensemble(archs, tiny_splits, trainer='dash', ckpt=ck, **kw)
    for a, b in zip(full.weights, resumed.weights):
        for k in a: assert torch.equal(a[k], b[k]), k
    assert [r['train_loss'] for r in full.history] == [r['train_loss'] for r in resumed.history]
    with pytest.raises(ValueError, match='other settings'):       # a checkpoint of another trainer is refused
        train_ensemble(archs, tiny_splits, trainer='sam', ckpt=ck, **kw)


def test_fgsm_on_a_linear_model_is_the_closed_form():
    "For log-softmax(Wx + b) the input gradient of -log p_y is W^T (p - e_y): FGSM is x + eps sign(W^T (p - e_y)), clipped."
    # float64, so that no component of the gradient is close enough to 0 for the two computations' rounding to flip its sign
    torch.manual_seed(0)
    W, b = torch.randn(5, 20, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    f = lambda x: F.log_softmax(x @ W.T + b, -1)
    x, y = torch.rand(100, 20, dtype=torch.float64), torch.randint(0, 5, (100,))
    p = f(x).exp()
    for eps in (1 / 255, 8 / 255, 0.3):
        closed = (x + eps * ((p - F.one_hot(y, 5)) @ W).sign()).clamp(0, 1)
        assert torch.allclose(fgsm(f, x, y, eps), closed, atol=1e-12, rtol=0)


def test_pgd_stays_in_the_ball_and_the_image_range():
    torch.manual_seed(0)
    lin = nn.Linear(20, 5)
    f = lambda x: F.log_softmax(lin(x), -1)
    x, y = torch.rand(50, 20), torch.randint(0, 5, (50,))
    xa = pgd(f, x, y, 0.05, steps=7, generator=torch.Generator().manual_seed(1))
    assert (xa - x).abs().max() <= 0.05 + 1e-6 and xa.min() >= 0 and xa.max() <= 1
    loss = lambda xx: F.nll_loss(f(xx), y).item()
    assert loss(xa) > loss(x)                          # it climbs the loss
    assert torch.equal(xa, pgd(f, x, y, 0.05, steps=7, generator=torch.Generator().manual_seed(1)))   # seeded: repeatable


def test_experiment_resumes_a_killed_joint_training(tmp_path, tiny_splits):
    "`Experiment.trained_ensemble` checkpoints into the store: a killed run's epochs are not lost, and the checkpoint goes once the entry is written."
    from edgenes.arch import random_arch
    from edgenes.config import get_preset, preset_kwargs
    from edgenes.experiment import Experiment
    from edgenes.store import Store
    from edgenes.learner import Callback
    from edgenes.runtime import Run
    class CrashAfterFirst(Callback):
        order = 200
        def after_epoch(self, learn):
            if learn.epoch == 0: raise Crash('killed')
    P = get_preset('smoke', retrain_C=4, retrain_epochs=2)
    archs = [random_arch(0), random_arch(1)]
    killed = Experiment(P, tiny_splits, cache=Store(tmp_path/'cache'), run=Run('cpu'), cbs=(CrashAfterFirst(),))
    ck = killed.cache.ckpt_path('ensemble', killed._ensemble_spec(archs, 0, 'dash'))
    with pytest.raises(Crash): killed.trained_ensemble(archs, 0, 'dash')   # what a killed batch leaves behind: epoch 1's checkpoint
    assert ck.exists()
    exp = Experiment(P, tiny_splits, cache=Store(tmp_path/'cache'), run=Run('cpu'))
    r = exp.trained_ensemble(archs, 0, 'dash')
    full = train_ensemble(archs, tiny_splits, trainer='dash', **preset_kwargs(train_ensemble, P, seed=0), run=Run('cpu', P.deterministic))
    assert torch.equal(r.member_test_probs[0], full.member_test_probs[0]) and not ck.exists()
    assert (exp.cache.hits, exp.cache.misses) == (0, 1)
