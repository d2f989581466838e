"""The fast-vs-plain checks again under every CPU kernel path this machine supports (issue 12).

PyTorch picks its vectorised CPU kernels when it starts (`ATEN_CPU_CAPABILITY`: default, avx2, avx512) and oneDNN its
convolution kernels (`ONEDNN_MAX_CPU_ISA`); the kernels sum in different orders, so a check that compares two
computations of one function must hold on each path. Each path runs in a fresh process: the tests marked `kernels`
(tests/test_speed.py, tests/test_dash.py) and the notebooks whose examples compare a fast path with a plain one.
The path this pytest process itself runs on (the test command names the CPU's best one explicitly) is not run twice:
the `kernels` tests of this session and nbdev_test's notebooks are that run. A path the CPU lacks is skipped, with
the reason.
"""
import os, subprocess, sys
from pathlib import Path
import pytest
import torch
from edgenes.numerics import kernel_paths, kernel_env

ROOT = Path(__file__).parents[1]
NOTEBOOKS = ['nbs/05_space.ipynb', 'nbs/03_numerics.ipynb']   # examples that compare fast and plain paths


def run(cmd, env):
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed under {env['ATEN_CPU_CAPABILITY']}:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return r.stdout


@pytest.mark.parametrize('path', ['default', 'avx2', 'avx512'])
def test_fast_vs_plain_checks_on_kernel_path(path):
    if path not in kernel_paths(): pytest.skip(f"this CPU has no {path} kernels (it runs: {', '.join(kernel_paths())})")
    here = torch.backends.cpu.get_cpu_capability().lower()
    if path == here:   # this very run: the `kernels` tests of this session and nbdev_test's notebooks ran on this path
        assert os.environ.get('ATEN_CPU_CAPABILITY', here).lower() == here
        return
    env = {**os.environ, **kernel_env(path), 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')}
    env.pop('PYTEST_XDIST_WORKER', None)
    cap = run([sys.executable, '-c', 'import torch; print(torch.backends.cpu.get_cpu_capability())'], env).strip()
    assert cap.lower() == path, f"asked for the {path} kernels, PyTorch runs {cap}"
    files = sorted(str(f.relative_to(ROOT)) for f in (ROOT/'tests').glob('test_*.py') if 'mark.kernels' in f.read_text())
    assert files, 'no test is marked kernels'   # collect only those files: collecting all of tests/ imports everything
    out = run([sys.executable, '-m', 'pytest', '-q', '-m', 'kernels', '-p', 'no:cacheprovider', '-p', 'no:xdist', *files], env)
    assert ' passed' in out and ' failed' not in out, out[-2000:]
    print(f"{path}: {out.strip().splitlines()[-1]}")
    for nb in NOTEBOOKS: run([Path(sys.executable).parent/'nbdev_test', '--n_workers', '0', '--path', nb], env)
