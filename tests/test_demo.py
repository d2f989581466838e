"The demo command end to end, and its errors."
import json, os, subprocess, sys
from pathlib import Path

def run(*args, cwd):
    exe = Path(sys.executable).parent/'edgenes-demo'
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, timeout=600)

def test_demo_smoke_writes_a_record(tmp_path):
    p = run('--preset', 'smoke', '--out_dir', str(tmp_path), '--quiet', cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rec = json.loads((tmp_path/'smoke'/'demo.json').read_text())
    assert rec['preset'] == 'smoke' and 0 <= rec['test']['accuracy'] <= 1 and rec['test']['n'] == 1000
    assert rec['search']['seconds'] > 0 and rec['retrain']['seconds'] > 0 and rec['search']['device']
    assert len(rec['arch']['edges']) == 4 and len(rec['genotype']['reduce']) == 8
    assert 'alpha* =' in p.stdout and 'test: accuracy' in p.stdout

def test_demo_unknown_preset(tmp_path):
    p = run('--preset', 'papr', '--out_dir', str(tmp_path), cwd=tmp_path)
    assert p.returncode != 0 and 'valid presets: smoke, quick, medium, paper' in p.stderr
    assert 'Traceback' not in p.stderr
