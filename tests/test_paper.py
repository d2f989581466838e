"Every paper item runs at the smoke preset through papermill and writes what it promises; bad parameters fail clearly."
import json, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
from edgenes.paper import PAPER, run_item

COLUMNS = {'theorem1': {'source', 'Lambda', 'N', 'closed_form', 'value', 'se', 'rel_diff'},
           'fig3_1': {'seed', 'lam', 'shared', 'arch'}}

@pytest.fixture(scope='module')
def dirs(tmp_path_factory):
    return tmp_path_factory.mktemp('figures'), tmp_path_factory.mktemp('cache')

def test_every_item_is_checked():
    assert set(COLUMNS) == set(PAPER)

@pytest.mark.parametrize('key', list(PAPER))
def test_item_smoke(key, dirs):
    out, cache = dirs
    r = run_item(key, 'smoke', out, cache_dir=str(cache))
    assert r['status'] == 'ok', r
    base = out/'smoke'
    df = pd.read_csv(base/f'{key}.csv')
    assert COLUMNS[key] <= set(df.columns) and len(df) > 0
    for suffix in ('.md', '.png', '.pdf'): assert (base/f'{key}{suffix}').stat().st_size > 0
    rec = json.loads((base/f'{key}.json').read_text())
    assert rec['item'] == key and rec['preset']['name'] == 'smoke' and rec['params']['preset'] == 'smoke'
    assert rec['wall_seconds'] > 0 and rec['torch'] and rec['device'] and 'git_commit' in rec
    assert (base/'runs'/f'{key}.ipynb').exists()                      # the executed notebook is the log
    if key == 'fig3_1':
        assert df['shared'].between(0, 4).all() and df['lam'].between(0, 4).all()
    if key == 'theorem1':
        mc = df[df.source == 'monte_carlo']
        assert len(mc) == 9 and (mc['rel_diff'].abs() < 0.03).all()
        assert (df['value'] >= 0).all()

@pytest.mark.parametrize('key', list(PAPER))
def test_item_bad_parameters(key, dirs):
    out, cache = dirs
    # checked before a kernel starts: a typo fails in a second, not after an hour
    with pytest.raises(ValueError, match=r"unknown preset key\(s\) \['epochs'\]"):
        run_item(key, 'smoke', out, cache_dir=str(cache), overrides={'epochs': 1})
    with pytest.raises(ValueError, match="unknown parameter"): run_item(key, 'smoke', out, cach_dir=str(cache))
    with pytest.raises(ValueError, match='valid presets'): run_item(key, 'papr', out)

def test_item_wrong_type(dirs):
    out, cache = dirs
    r = run_item('fig3_1', 'smoke', out, cache_dir=str(cache), seeds='0')
    assert r['status'] == 'failed' and "parameter 'seeds' must be list" in r['error']

def test_batch_reports_and_exits_nonzero(tmp_path):
    exe = Path(sys.executable).parent/'edgenes-reproduce'
    p = subprocess.run([str(exe), '--only', 'fig9'], capture_output=True, text=True)
    assert p.returncode != 0 and "unknown item(s) ['fig9']; valid: theorem1, fig3_1" in p.stderr
    p = subprocess.run([str(exe), '--preset', 'smoke', '--dry_run', '--out_dir', str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 0 and all(k in p.stdout for k in PAPER)
