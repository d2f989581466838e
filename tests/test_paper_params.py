"""Bad parameters of a paper item or of the batch command fail at once, with a message that says what is valid.
(Apart from tests/test_paper.py, whose smoke batch is the longest test: these need none of its work.)"""
import subprocess, sys
from pathlib import Path
import pytest
from edgenes.paper import PAPER, run_item

EXE = str(Path(sys.executable).parent/'edgenes-reproduce')


@pytest.mark.parametrize('key', list(PAPER))
def test_item_bad_parameters(key, tmp_path):
    # checked before a kernel starts: a typo fails in a second, not after an hour
    with pytest.raises(ValueError, match=r"unknown preset key\(s\) \['epochs'\]"):
        run_item(key, 'smoke', tmp_path, cache_dir=str(tmp_path), overrides={'epochs': 1})
    with pytest.raises(ValueError, match="unknown parameter"): run_item(key, 'smoke', tmp_path, cach_dir=str(tmp_path))
    with pytest.raises(ValueError, match='valid presets'): run_item(key, 'papr', tmp_path)

def test_item_wrong_type(tmp_path):
    cache = tmp_path/'cache'                                  # both fail at their parameter check, before any work
    r = run_item('fig3_1', 'smoke', tmp_path, cache_dir=str(cache), seeds='0')
    assert r['status'] == 'failed' and "parameter 'seeds' must be list" in r['error']
    r = run_item('fig4_1', 'smoke', tmp_path, cache_dir=str(cache), auc_from=2.0)
    assert r['status'] == 'failed' and 'auc_from must be in [0, 1)' in r['error']

def test_batch_reports_and_exits_nonzero(tmp_path):
    p = subprocess.run([EXE, '--only', 'fig9'], capture_output=True, text=True)
    assert p.returncode != 0 and "unknown item(s) ['fig9']; valid: fig3_1, table2" in p.stderr
    p = subprocess.run([EXE, '--preset', 'smoke', '--dry_run', '--out_dir', str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 0 and all(k in p.stdout for k in PAPER)
