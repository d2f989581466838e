"Bad configuration fails at once, with a message that lists the valid choices."
import pytest
from edgenes.config import get_preset, parse_setting, parse_field, PRESETS, Preset

@pytest.mark.parametrize('name, kw, exc, msg', [
    ('papr', {}, ValueError, "unknown preset 'papr'; valid presets: smoke, quick, medium, paper"),
    (3, {}, TypeError, 'preset must be a str'),
    ('quick', {'epochs': 3}, ValueError, r"unknown preset key\(s\) \['epochs'\]; valid keys: dataset"),
    ('quick', {'search_epochs': '3'}, TypeError, "'search_epochs' must be int, got str '3'"),
    ('quick', {'search_epochs': 2.5}, TypeError, "'search_epochs' must be int"),
    ('quick', {'augment': 'yes'}, TypeError, "'augment' must be bool"),
    ('quick', {'w_lr': 'fast'}, TypeError, "'w_lr' must be float"),
    ('quick', {'a_betas': 0.5}, TypeError, "'a_betas' must be tuple"),
    ('quick', {'n_train': 'all'}, TypeError, "'n_train' must be None or int"),
    ('quick', {'attack_eps': [8]}, ValueError, r"'attack_eps' holds radii on the \[0, 1\] pixel scale"),
])
def test_bad_preset(name, kw, exc, msg):
    with pytest.raises(exc, match=msg): get_preset(name, **kw)

def test_presets_are_frozen_and_complete():
    assert set(PRESETS) >= {'smoke', 'quick', 'medium', 'paper'}
    with pytest.raises(Exception): PRESETS['quick'].search_epochs = 1
    p = get_preset('paper')
    assert (p.dataset, p.C, p.search_epochs, p.retrain_epochs, p.retrain_C, p.a_lr, p.w_lr, p.a_betas) == \
           ('cifar100', 10, 50, 50, 16, 0.02, 0.025, (0.5, 0.9))

def test_overrides_keep_types():
    assert get_preset('smoke', n_train=None).n_train is None
    assert get_preset('smoke', a_betas=[0.5, 0.9]).a_betas == (0.5, 0.9)
    assert isinstance(get_preset('smoke', w_lr=1).w_lr, float)

def test_set_reads_a_field_by_its_type():
    "`--set key=value` text becomes the field's type; a bad one names the type wanted, with an example."
    assert parse_setting('attack_eps=2/255,8/255') == ('attack_eps', (2/255, 8/255)) and parse_field('n_train', 'none') is None
    with pytest.raises(ValueError, match="--set 'retrain_epochs=ten': retrain_epochs takes a int, e.g. --set retrain_epochs=1"):
        parse_setting('retrain_epochs=ten')
    with pytest.raises(ValueError, match="unknown preset key 'epochs'; valid keys: dataset"): parse_setting('epochs=3')
