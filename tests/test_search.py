"DARTS search: determinism, resume after an interruption, bad checkpoints."
import json, subprocess, sys, warnings
import pytest, torch
from conftest import TINY
from edgenes.learner import Callback
from edgenes.search import darts_search

class Crash(Exception): pass

class CrashAfter(Callback):
    "Stands in for a killed process: raises after the checkpoint of epoch `at` was written."
    order = 1000
    def __init__(self, at): self.at = at
    def after_epoch(self, learn):
        if learn.epoch == self.at: raise Crash(f'crash after epoch {self.at}')

def test_same_seed_same_search(tiny_splits):
    a, b = darts_search(tiny_splits, **TINY, seed=1), darts_search(tiny_splits, **TINY, seed=1)
    assert torch.equal(a.alpha, b.alpha) and torch.equal(a.beta, b.beta) and a.arch == b.arch
    c = darts_search(tiny_splits, **TINY, seed=2)
    assert not torch.equal(a.alpha, c.alpha)

@pytest.mark.parametrize('crash_at', [0, 1])
def test_resumed_search_matches_uninterrupted(tiny_splits, tmp_path, crash_at):
    full = darts_search(tiny_splits, **TINY, seed=0, augment=True)
    ck = tmp_path/'search.ckpt'
    with pytest.raises(Crash): darts_search(tiny_splits, **TINY, seed=0, augment=True, ckpt=ck, cbs=[CrashAfter(crash_at)])
    assert ck.exists()
    resumed = darts_search(tiny_splits, **TINY, seed=0, augment=True, ckpt=ck)
    assert torch.equal(resumed.alpha, full.alpha) and torch.equal(resumed.beta, full.beta)
    assert resumed.arch == full.arch
    assert [r['train_loss'] for r in resumed.history] == [r['train_loss'] for r in full.history]
    assert len(resumed.history) == TINY['search_epochs']
    for k, v in full.model.state_dict().items(): assert torch.equal(resumed.model.state_dict()[k], v), k

def test_finished_checkpoint_is_not_recomputed(tiny_splits, tmp_path):
    ck = tmp_path/'search.ckpt'
    first = darts_search(tiny_splits, **TINY, seed=0, ckpt=ck)
    again = darts_search(tiny_splits, **TINY, seed=0, ckpt=ck)
    assert torch.equal(first.alpha, again.alpha)
    assert again.cost['seconds'] == pytest.approx(first.cost['seconds'])   # no epoch was run again

def test_checkpoint_of_other_settings_is_refused(tiny_splits, tmp_path):
    ck = tmp_path/'search.ckpt'
    darts_search(tiny_splits, **{**TINY, 'search_epochs': 1}, seed=0, ckpt=ck)
    with pytest.raises(ValueError, match="other settings .*'seed': \\(0, 1\\).*use another folder or delete it"):
        darts_search(tiny_splits, **TINY, seed=1, ckpt=ck)
    assert ck.exists()                                  # nothing finished was deleted

def test_corrupt_checkpoint_is_kept_aside_and_recomputed(tiny_splits, tmp_path):
    ck = tmp_path/'search.ckpt'
    ck.write_bytes(b'\x00 half a file')
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        res = darts_search(tiny_splits, **TINY, seed=0, ckpt=ck)
    assert any('could not be read' in str(x.message) for x in w)
    assert len(list(tmp_path.glob('search.ckpt.corrupt-*'))) == 1
    assert torch.equal(res.alpha, darts_search(tiny_splits, **TINY, seed=0).alpha)

def test_bad_optimiser_name(tiny_splits):
    with pytest.raises(ValueError, match='valid: sgd, adam'): darts_search(tiny_splits, **TINY, w_opt='rmsprop')

def test_arguments_after_the_data_are_keywords(tiny_splits):
    with pytest.raises(TypeError, match='positional'): darts_search(tiny_splits, 4)

def test_progress_is_a_callback_that_names_the_phase_and_the_task(tiny_splits, capsys):
    from edgenes.learner import ProgressCB, task_label
    with task_label('alpha_star(seed=0)'): darts_search(tiny_splits, **{**TINY, 'search_epochs': 2}, seed=0, cbs=[ProgressCB()])
    lines = capsys.readouterr().out.splitlines()
    assert [l.split(': epoch ')[0] for l in lines] == ['alpha_star(seed=0) search'] * 2, lines
    assert lines[0].split(': epoch ')[1].startswith('1/2 train_loss ') and lines[1].endswith('about 0 s left'), lines
    darts_search(tiny_splits, **{**TINY, 'search_epochs': 1}, seed=0, cbs=[ProgressCB(prefix='mine', bar=True)])   # not a terminal: lines
    assert capsys.readouterr().out.startswith('mine: epoch 1/1 ')
