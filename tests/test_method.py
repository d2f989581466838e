"The method: regularised search, hypernetwork resume, Algorithm 1 through the cache, and bad input."
import warnings
import pytest, torch
from conftest import TINY
from edgenes.config import get_preset
from edgenes.arch import shared_edges, random_arch
from edgenes.search import darts_search, regularised_search
from edgenes.hypernet import train_hypernet
from edgenes.ensemble import select
from edgenes.experiment import Experiment
from edgenes.methods import run_method
from edgenes.store import Store
from edgenes.learner import Callback

HYPER = dict(C=4, hyper_epochs=3, search_bs=32, a_lr=0.05)

class Crash(Exception): pass
class CrashAfter(Callback):
    order = 1000
    def __init__(self, at): self.at = at
    def after_epoch(self, learn):
        if learn.epoch == self.at: raise Crash()

@pytest.fixture(scope='module')
def star(tiny_splits): return darts_search(tiny_splits, **TINY, seed=0).arch

def test_regularised_search_records_the_penalty(tiny_splits, star):
    r = regularised_search(tiny_splits, star, lam=2, **{**TINY, 'a_lr': 0.05}, seed=1)
    assert all({'relaxed_count', 'penalty', 'c', 't'} <= set(row) for row in r.history)
    assert r.history[0]['c'] == pytest.approx(0.3) and r.history[-1]['c'] > r.history[0]['c']   # warm-up on
    off = regularised_search(tiny_splits, star, lam=2, warmup=False, **{**TINY, 'a_lr': 0.05}, seed=1)
    assert [row['c'] for row in off.history] == [3.0] * TINY['search_epochs']                      # constant

@pytest.mark.parametrize('lam', [-1, 4.5])
def test_regularised_search_rejects_lambda_out_of_range(tiny_splits, star, lam):
    with pytest.raises(ValueError, match='lam must be in 0..4'): regularised_search(tiny_splits, star, lam=lam, **TINY)

def test_hypernet_resume_matches_uninterrupted(tiny_splits, star, tmp_path):
    full = train_hypernet(tiny_splits, star, **HYPER, seed=0)
    ck = tmp_path/'h.ckpt'
    with pytest.raises(Crash): train_hypernet(tiny_splits, star, **HYPER, seed=0, ckpt=ck, cbs=[CrashAfter(1)])
    res = train_hypernet(tiny_splits, star, **HYPER, seed=0, ckpt=ck)
    for k, v in full.hypernet.state_dict().items(): assert torch.equal(res.hypernet.state_dict()[k], v), k
    assert [r['shared'] for r in res.history] == [r['shared'] for r in full.history]

@pytest.fixture(scope='module')
def small_exp(tiny_splits, tmp_path_factory):
    P = get_preset('smoke', n_train=300, hyper_epochs=2, a_lr=0.05, ens_n=1, ens_N=3, retrain_epochs=1, retrain_C=4)
    return P, tmp_path_factory.mktemp('cache')

def test_second_run_only_reads_the_cache(tiny_splits, small_exp):
    P, root = small_exp
    first = Experiment(P, tiny_splits, 0, Store(root))
    a = {m: run_method(first, m, 0) for m in ('darts', 'randomd_nes', 'edgenes')}
    assert first.cache.misses > 0
    second = Experiment(P, tiny_splits, 0, Store(root))
    b = {m: run_method(second, m, 0) for m in ('darts', 'randomd_nes', 'edgenes')}
    assert second.cache.misses == 0 and second.cache.hits > 0
    for m in a:
        assert a[m].members == b[m].members and a[m].test == b[m].test and a[m].cost == b[m].cost

def test_randomd_pool_shares_the_drawn_number_of_edges(tiny_splits, small_exp):
    P, root = small_exp
    exp = Experiment(P, tiny_splits, 0, Store(root))
    r = run_method(exp, 'randomd_nes', 0, n=1, N=3)
    star = exp.alpha_star(0).arch
    assert r.lams is not None and all(0 <= k <= star.n_edges for k in r.lams)

@pytest.mark.parametrize('kw, msg', [({'n': 0}, 'n must be an int >= 1'), ({'n': 2.5}, 'n must be an int >= 1'),
                                     ({'N': 0}, 'N must be an int >= 1'), ({'n': 4, 'N': 3}, 'N must be >= n'),
                                     ({'method': 'nes'}, 'valid: darts, random, darts_ens, random_nes, randomd_nes, edgenes')])
def test_bad_ensemble_arguments(tiny_splits, small_exp, kw, msg):
    P, root = small_exp
    exp = Experiment(P, tiny_splits, 0, Store(root))
    with pytest.raises(ValueError, match=msg): run_method(exp, kw.pop('method', 'random_nes'), 0, **kw)

def test_bad_pool():
    y = torch.zeros(5, dtype=torch.long); p = torch.full((5, 3), 1 / 3)
    with pytest.raises(ValueError, match='pool has 1 distinct candidates, fewer than the ensemble size n=2'): select([p], y, 2)
    with pytest.raises(ValueError, match="selection='greedy'"): select([p] * 40, y, 10, 'exhaustive', 1000)
