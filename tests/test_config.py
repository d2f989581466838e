"Bad configuration fails at once, with a message that lists the valid choices."
import re
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
    ('quick', {'attack_eps': [8]}, ValueError, r"'attack_eps' must be radii on the \[0, 1\] pixel scale"),
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


# -- issue 23: every field's range, the cross-field rules and the device, each answered by one line that says what to do
import dataclasses, math
import torch
from edgenes.config import FIELD_RANGES, FIELD_TYPES, check_field, check_preset, split_sizes, MIN_SPLIT
from edgenes.runtime import check_device, default_device

BAD = [   # (key, a bad value of the right type, a fragment of its message)
    ('name', '', "preset key 'name' must be a non-empty str without / or \\ (it names the output folder), got ''"),
    ('name', 'a/b', "'name' must be a non-empty str without /"), ('name', '..', "'name' must be a non-empty str"),
    ('dataset', ' ', "preset key 'dataset' must be a non-empty str (a data set: embedded, fashion_mnist"),
    ('data_root', '', "preset key 'data_root' must be None or a non-empty str (the folder holding the data set), got ''"),
    ('n_train', 0, "preset key 'n_train' must be None or an int >= 1 (training images used; None: all), got 0"),
    ('valid_frac', 0, "preset key 'valid_frac' must be a number in (0, 1) (share of the training images held out), got 0"),
    ('valid_frac', 1.0, "'valid_frac' must be a number in (0, 1)"),
    ('C', 0, "preset key 'C' must be an int >= 1 (search-net channels), got 0"),
    ('n_chosen', 3, "preset key 'n_chosen' must be 1 or 2 (inputs kept per node: the search space keeps one or two), got 3"),
    ('n_chosen', 0, "'n_chosen' must be 1 or 2"),
    ('edge_rule', 'darts', "preset key 'edge_rule' must be one of beta, pcdarts (how a node ranks its input edges), got 'darts'"),
    ('compile', 'yes', "preset key 'compile' must be one of auto, on, off (when to compile), got 'yes'"),
    ('search_epochs', -1, "preset key 'search_epochs' must be an int >= 1 (epochs of the search), got -1"),
    ('search_bs', 0, "preset key 'search_bs' must be an int >= 1 (search batch size), got 0"),
    ('w_opt', 'rmsprop', "preset key 'w_opt' must be one of sgd, adam (weight optimiser), got 'rmsprop'"),
    ('w_lr', 0, "preset key 'w_lr' must be a number > 0 (weight step), got 0"), ('w_lr', float('nan'), "'w_lr' must be a number > 0"),
    ('w_lr', float('inf'), "'w_lr' must be a number > 0 (weight step), got inf"),
    ('w_momentum', 1, "preset key 'w_momentum' must be a number in [0, 1) (SGD momentum), got 1"), ('w_momentum', -0.1, "'w_momentum'"),
    ('w_wd', -1e-4, "preset key 'w_wd' must be a number >= 0 (weight decay of the weights), got -0.0001"),
    ('a_lr', -3e-3, "preset key 'a_lr' must be a number > 0 (architecture step), got -0.003"),
    ('a_betas', (0.5, 1.0), "preset key 'a_betas' must be two numbers in [0, 1) (Adam betas of the architecture step), got (0.5, 1.0)"),
    ('a_betas', (0.5,), "'a_betas' must be two numbers in [0, 1)"), ('a_betas', (-0.1, 0.9), "'a_betas' must be two numbers"),
    ('a_wd', -1, "preset key 'a_wd' must be a number >= 0 (weight decay of the architecture), got -1"),
    ('grad_clip', 0, "preset key 'grad_clip' must be a number > 0 (gradient-norm clip), got 0"),
    ('retrain_C', 0, "preset key 'retrain_C' must be an int >= 1 (channels of the retrained network), got 0"),
    ('retrain_layers', 0, "preset key 'retrain_layers' must be an int >= 1 (stacked cells), got 0"),
    ('retrain_epochs', -1, "preset key 'retrain_epochs' must be an int >= 1 (epochs of retraining), got -1"),
    ('retrain_bs', 0, "preset key 'retrain_bs' must be an int >= 1 (retraining batch size), got 0"),
    ('retrain_lr', 0, "preset key 'retrain_lr' must be a number > 0 (retraining learning rate), got 0"),
    ('drop_path', 1, "preset key 'drop_path' must be a number in [0, 1) (final drop-path probability), got 1"),
    ('auxiliary', -0.4, "preset key 'auxiliary' must be a number >= 0 (auxiliary-head loss weight; 0: off), got -0.4"),
    ('hyper_epochs', -1, "preset key 'hyper_epochs' must be an int >= 1 (epochs of hypernetwork training), got -1"),
    ('n_pivots', 1, "preset key 'n_pivots' must be an int >= 2 (pivots of alpha(lambda)), got 1"),
    ('hyper_eps', -0.2, "preset key 'hyper_eps' must be a number >= 0 (lambda ~ U[-eps, Lambda + eps]), got -0.2"),
    ('hyper_init_std', 0, "preset key 'hyper_init_std' must be a number > 0 (std of the initial pivot values), got 0"),
    ('hyper_a_lr', 0, "preset key 'hyper_a_lr' must be None or a number > 0 (architecture step of the hypernetwork; None: a_lr), got 0"),
    ('reg_a_lr', -0.3, "preset key 'reg_a_lr' must be None or a number > 0 (architecture step of Table 1; None: a_lr), got -0.3"),
    ('c', (0.3, 0), "preset key 'c' must be two numbers > 0 (regulariser weight at the start and end of the warm-up), got (0.3, 0)"),
    ('c', (0.3,), "'c' must be two numbers > 0"),
    ('t', (1.0, -0.05), "preset key 't' must be two numbers > 0 (Gumbel temperature, start and end), got (1.0, -0.05)"),
    ('ens_n', 0, "preset key 'ens_n' must be an int >= 1 (ensemble size), got 0"),
    ('ens_N', 0, "preset key 'ens_N' must be an int >= 1 (candidate architectures sampled; at least ens_n), got 0"),
    ('selection', 'best', "preset key 'selection' must be one of exhaustive, greedy (how an ensemble is picked), got 'best'"),
    ('enum_limit', 0, "preset key 'enum_limit' must be an int >= 1 (most ensembles exhaustive selection enumerates), got 0"),
    ('seeds', (), "preset key 'seeds' must be a non-empty tuple of distinct ints in 0..4294967295 (the runs), got ()"),
    ('seeds', (0, -1), "'seeds' must be a non-empty tuple of distinct ints"), ('seeds', (1, 2, 1), "'seeds' must be a non-empty tuple of distinct"),
    ('seeds', (2**32,), "'seeds' must be a non-empty tuple of distinct ints in 0..4294967295"),
    ('ece_bins', 0, "preset key 'ece_bins' must be an int >= 1 (bins of the calibration error), got 0"),
    ('eval_bs', 0, "preset key 'eval_bs' must be an int >= 1 (batch size for prediction), got 0"),
    ('sam_rho', -0.05, "preset key 'sam_rho' must be a number >= 0 (SAM radius), got -0.05"),
    ('dash_beta', -1, "preset key 'dash_beta' must be a number >= 0 (DASH's diversity weight), got -1"),
    ('dash_tau', 0, "preset key 'dash_tau' must be a number > 0 (temperature of the non-target softmax), got 0"),
    ('dash_gamma', 1.5, "preset key 'dash_gamma' must be a number in [0, 1] (weight of the ensemble-level SAM term), got 1.5"),
    ('attack_eps', (8,), "preset key 'attack_eps' must be radii on the [0, 1] pixel scale, each in (0, 1] (e.g. 2/255,8/255), got (8,)"),
    ('attack_eps', (0,), "'attack_eps' must be radii on the [0, 1] pixel scale"),
    ('search_warmup', -1, "preset key 'search_warmup' must be an int >= 0 (weight-only epochs before the search), got -1"),
    ('pgd_steps', 0, "preset key 'pgd_steps' must be an int >= 1 (PGD iterations), got 0"),
    ('attack_n', 0, "preset key 'attack_n' must be None or an int >= 1 (test images attacked; None: all), got 0"),
]

def test_every_field_but_the_switches_has_a_range_and_a_bad_value_here():
    assert set(FIELD_RANGES) == {k for k, t in FIELD_TYPES.items() if t.type != 'bool'} == {k for k, _, _ in BAD}

@pytest.mark.parametrize('key, bad, msg', BAD)
def test_bad_value_is_refused_saying_the_allowed_values(key, bad, msg):
    before = {k: dataclasses.asdict(p) for k, p in PRESETS.items()}
    for name in PRESETS:
        with pytest.raises(ValueError) as e: get_preset(name, **{key: bad})
        assert msg in str(e.value) and '\n' not in str(e.value)
    with pytest.raises(ValueError, match=re.escape(msg)): check_preset(dataclasses.replace(PRESETS['smoke'], **{key: bad}))
    assert {k: dataclasses.asdict(p) for k, p in PRESETS.items()} == before        # nothing changed by a refused setting

GOOD = [('n_train', 15), ('n_train', None), ('valid_frac', 0.01), ('valid_frac', 0.5), ('C', 1), ('n_chosen', 2), ('edge_rule', 'pcdarts'), ('compile', 'on'),
        ('search_epochs', 1), ('search_warmup', 0), ('search_warmup', 3), ('w_opt', 'adam'), ('w_lr', 1e-9), ('w_momentum', 0), ('w_momentum', 0.999), ('w_wd', 0), ('a_betas', (0, 0.999)),
        ('a_betas', [0.9, 0.9]), ('drop_path', 0), ('auxiliary', 0), ('auxiliary', 0.4), ('n_pivots', 2), ('hyper_eps', 0), ('hyper_a_lr', None),
        ('reg_a_lr', 3), ('c', (1, 3)), ('t', (5.0, 0.01)), ('selection', 'greedy'), ('enum_limit', 3), ('seeds', (0,)), ('seeds', [4294967295, 7]),
        ('sam_rho', 0), ('dash_beta', 0), ('dash_gamma', 1), ('attack_eps', (1,)), ('attack_eps', ()), ('pgd_steps', 1), ('attack_n', None),
        ('attack_n', 1), ('dataset', 'my_set'), ('data_root', '/data'), ('name', 'quick-lr')]

@pytest.mark.parametrize('key, value', GOOD)
def test_good_edge_values_are_kept_as_before(key, value):
    "An allowed value gives what `dataclasses.replace` gives (an int as a float, a list as a tuple): no number changes."
    t = FIELD_TYPES[key]
    want = value if value is None else float(value) if t.type == 'float' else tuple(value) if t.type == 'tuple' else value
    p = get_preset('smoke', **{key: value})
    assert p == dataclasses.replace(PRESETS['smoke'], **{key: want}) and repr(getattr(p, key)) == repr(want)

def test_the_issue_case_from_the_command_line_text():
    "`--set search_epochs=-1 --set hyper_epochs=-1` (and retrain_epochs=-1) is refused before anything runs."
    o = dict(parse_setting(s) for s in ('search_epochs=-1', 'hyper_epochs=-1'))
    with pytest.raises(ValueError, match=r"^preset key 'search_epochs' must be an int >= 1 \(epochs of the search\), got -1$"): get_preset('smoke', **o)
    with pytest.raises(ValueError, match=r"'retrain_epochs' must be an int >= 1"): get_preset('quick', **dict([parse_setting('retrain_epochs=-1')]))
    with pytest.raises(ValueError, match=r"'valid_frac' must be a number in \(0, 1\)"): get_preset('smoke', **dict([parse_setting('valid_frac=3/2')]))

def test_tuple_elements_are_typed():
    with pytest.raises(TypeError, match=re.escape("preset key 'seeds' must be tuple of int, got tuple (0, 1.5)")): get_preset('smoke', seeds=(0, 1.5))
    with pytest.raises(TypeError, match="'c' must be tuple of float, got list"): get_preset('smoke', c=['a', 1])
    with pytest.raises(TypeError, match="'seeds' must be tuple of int"): get_preset('smoke', seeds=(True,))

def test_cross_field_rules():
    with pytest.raises(ValueError, match=re.escape("preset keys 'ens_n' and 'ens_N': ens_N (candidates sampled) must be >= ens_n (ensemble size), got ens_n=4, ens_N=3")):
        get_preset('smoke', ens_n=4)
    assert get_preset('smoke', ens_n=3, ens_N=3).ens_N == 3
    with pytest.raises(ValueError, match=re.escape("exhaustive selection would enumerate C(40, 20) = 137,846,528,820 ensembles, over enum_limit=100,000; set selection=greedy")):
        get_preset('smoke', ens_n=20, ens_N=40)
    assert get_preset('smoke', ens_n=20, ens_N=40, selection='greedy').ens_N == 40
    assert get_preset('smoke', ens_n=2, ens_N=5, enum_limit=10).enum_limit == 10             # C(5, 2) = 10: at the limit
    with pytest.raises(ValueError, match=re.escape("preset keys 'n_train' and 'valid_frac': n_train=14 with valid_frac=0.1 leaves 6, 7 and 1 images")):
        get_preset('smoke', n_train=14)
    with pytest.raises(ValueError, match="leaves 1, 2 and 97 images for the weight, architecture and validation parts; each needs at least 2"):
        get_preset('smoke', n_train=100, valid_frac=0.97)
    assert get_preset('smoke', n_train=15).n_train == 15 and get_preset('paper', valid_frac=0.99).n_train is None   # None: make_splits checks it

def test_split_sizes_is_make_splits():
    from edgenes.data import load_embedded, make_splits
    emb = load_embedded()
    for n, f in ((600, 0.1), (1200, 0.15), (15, 0.1), (48, 0.1), (101, 0.33)):
        s = make_splits(emb, 0, f, n)
        assert split_sizes(n, f) == (len(s.w), len(s.a), len(s.valid)) and min(split_sizes(n, f)) >= MIN_SPLIT

def test_named_presets_pass_unchanged():
    for k, p in PRESETS.items(): assert check_preset(p) is p and get_preset(k) == p

# -- check_device: --device checked before anything runs

@pytest.mark.parametrize('bad', ['tpu', 'CUDA', 'cuda:x', 'cuda:-1', 'meta', 'xla', '0', 'gpu'])
def test_device_torch_cant_use(bad):
    with pytest.raises(ValueError, match=re.escape(f"--device {bad}: not a device; use cpu, cuda or cuda:N (mps where PyTorch supports it)")):
        check_device(bad)

def test_device_default_and_cpu():
    assert check_device('cpu') == torch.device('cpu') and check_device('') == check_device(None) == default_device()

def test_device_cuda_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for d in ('cuda', 'cuda:0', 'cuda:3'):
        with pytest.raises(ValueError, match=re.escape(f"--device {d}: no CUDA GPU is visible to this process; use --device cpu or leave --device unset")):
            check_device(d)
    assert check_device('') == torch.device('cpu')

def test_device_cuda_index_past_the_last(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    assert check_device('cuda') == torch.device('cuda') and check_device('cuda:1') == torch.device('cuda', 1)
    with pytest.raises(ValueError, match=re.escape("--device cuda:2: this process sees 2 CUDA GPUs (cuda:0 to cuda:1); use one of them, or --device cpu or leave --device unset")):
        check_device('cuda:2')
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)
    with pytest.raises(ValueError, match=re.escape("--device cuda:1: this process sees 1 CUDA GPU (cuda:0); use one of them")): check_device('cuda:1')

def test_device_mps_where_there_is_none(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: False)
    with pytest.raises(ValueError, match=re.escape("--device mps: this PyTorch has no MPS device on this machine; use --device cpu or leave --device unset")):
        check_device('mps')
