"The batched supernet (edgenes.space) and the plain DARTS formulation of benchmarks/supernet.py give the same numbers."
import importlib.util
from pathlib import Path
import pytest
import torch

spec = importlib.util.spec_from_file_location('bench_supernet', Path(__file__).parents[1]/'benchmarks'/'supernet.py')
bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)

@pytest.mark.parametrize('in_ch,size', [(3, 32), (1, 28)])
def test_same_outputs_and_gradients(in_ch, size):
    # logits, d/d alpha, d/d beta and every weight's gradient: within 1e-5 absolutely; relative to each tensor's largest
    # value within float32 rounding of sums over a batch (1e-4); in float64 identical to 1e-12, so the same function
    d = bench.max_diffs(C=10, in_ch=in_ch, size=size, bs=8)
    assert d['abs'] < 1e-5 and d['rel'] < 1e-4, d
    assert bench.max_diffs(C=10, in_ch=in_ch, size=size, bs=4, dtype=torch.float64)['rel'] < 1e-12

def test_same_state_dict_layout():
    fast, plain = bench.build('edgenes', 10, 3), bench.build('plain', 10, 3)
    assert list(fast.state_dict()) == list(plain.state_dict())

def test_measure_reports_figures():
    r = bench.measure('edgenes', 1, 28, 'iteration', steps=1, bs=8)
    assert r['images_per_s'] > 0 and r['seconds_per_step'] > 0 and r['step'] == 'iteration'
