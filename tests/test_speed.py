"The batched supernet (edgenes.space) and the plain DARTS formulation of benchmarks/supernet.py give the same numbers."
import importlib.util
from pathlib import Path
import pytest
import torch
from edgenes.numerics import check_close, float_tol

spec = importlib.util.spec_from_file_location('bench_supernet', Path(__file__).parents[1]/'benchmarks'/'supernet.py')
bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)

@pytest.mark.kernels
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('in_ch,size', [(3, 32), (1, 28)])
def test_same_outputs_and_gradients(in_ch, size, dtype):
    # logits, d/d alpha, d/d beta and every weight's gradient agree within edgenes.numerics' rule: n x eps of the dtype,
    # relative to each tensor's largest value, n the longest sum (an architecture weight's gradient); in float64 this is
    # below 1e-11, so the two are the same function; in float32 it allows for the order the CPU's kernels sum in.
    bs = 8 if dtype == torch.float32 else 4
    n = bench.longest_sum(C=10, size=size, bs=bs)
    check_close(bench.grad_pairs(C=10, in_ch=in_ch, size=size, bs=bs, dtype=dtype), n)
    if dtype == torch.float64: assert float_tol(dtype, n) < 1e-11

def test_same_state_dict_layout():
    fast, plain = bench.build('edgenes', 10, 3), bench.build('plain', 10, 3)
    assert list(fast.state_dict()) == list(plain.state_dict())

def test_measure_reports_figures():
    r = bench.measure('edgenes', 1, 28, 'iteration', steps=1, bs=8)
    assert r['images_per_s'] > 0 and r['seconds_per_step'] > 0 and r['step'] == 'iteration'
