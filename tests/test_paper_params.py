"""Bad parameters of a paper item or of the batch command fail at once, with a message that says what is valid.
(Apart from tests/test_paper.py, whose smoke batch is the longest test: these need none of its work.)"""
import subprocess, sys
from pathlib import Path
import pytest
from edgenes.paper import PAPER
from edgenes.reproduce import run_item

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

@pytest.mark.parametrize('key', list(PAPER))
def test_item_takes_the_run_context(key):
    "Every notebook takes the batch's device and read-only flag as papermill parameters (its RunSpec is built from them)."
    import papermill as pm
    from edgenes.paper import paper_dir
    known = set(pm.inspect_notebook(str(paper_dir()/PAPER[key].notebook)))
    assert {'preset', 'out_dir', 'cache_dir', 'overrides', 'progress', 'device', 'read_only'} <= known, known

def test_read_only_item_names_the_missing_artifact(tmp_path):
    "With read_only=True (as a batch runs it) a notebook only reads: on an empty store it fails, naming the artifact."
    r = run_item('theorem1', 'smoke', tmp_path, cache_dir=str(tmp_path/'cache'), read_only=True, device='cpu', mc_ensembles=10, mc_iters=5)
    assert r['status'] == 'failed' and r['error'].startswith('MissingArtifact: read-only store') and 'search artifact' in r['error'] and 'device=cpu' in r['error'], r
    assert not (tmp_path/'cache').exists() or not list((tmp_path/'cache').rglob('*.pt'))
