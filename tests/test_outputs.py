"""Nothing half-written in an output folder, one writer at a time, bad command-line input answered in one line (issue 23).
Each test injects its fault (concurrent writers, a disk that fills half way through a write, a bad flag) and checks the
message and that nothing finished was lost or changed."""
import errno, json, os, subprocess, sys, threading, time
from pathlib import Path
import pandas as pd
import pytest
import edgenes.paper
from edgenes.paper import folder_lock, paper_context
from edgenes.reproduce import log_batch

EXE = str(Path(sys.executable).parent/'edgenes-reproduce')
OK = lambda i: [{'item': 'fig3_1', 'status': 'ok', 'seconds': float(i)}]

# one writer of a folder: an item's table and record, then the batch's line (which reads the record), n times
WRITER = '''
import sys, time
from pathlib import Path
import pandas as pd
from edgenes.paper import paper_context
from edgenes.reproduce import log_batch
out, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = paper_context('fig3_1', 'smoke', out_dir=out, cache_dir=out)
print('ready', flush=True)
while not (Path(out)/'go').exists(): time.sleep(0.005)
for i in range(n):
    ctx.save_table(pd.DataFrame({'who': [who], 'i': [i]})); ctx.save_record(who=who, i=i)
    log_batch(ctx.out, 'smoke', ['fig3_1'], [{'item': 'fig3_1', 'status': 'ok', 'seconds': float(i)}], float(i), 0, {'who': who})
'''

def write_many(out:Path, who:str, n:int):
    "What WRITER does, in this process (a thread)."
    ctx = paper_context('fig3_1', 'smoke', out_dir=str(out), cache_dir=str(out))
    for i in range(n):
        ctx.save_table(pd.DataFrame({'who': [who], 'i': [i]})); ctx.save_record(who=who, i=i)
        log_batch(ctx.out, 'smoke', ['fig3_1'], OK(i), float(i), 0, {'who': who})

def python(script, *args)->subprocess.Popen:
    "Run a Python `script` with `args` in a new process, its output piped."
    return subprocess.Popen([sys.executable, '-c', script, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, 'OMP_NUM_THREADS': '1'})

def temporaries(folder:Path)->list: return sorted(p.name for p in folder.rglob('*.tmp'))
def outputs(folder:Path)->dict: return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != '.lock'}

def test_concurrent_writers_lose_nothing(tmp_path):
    "Two processes and two threads write one item's outputs and the batch log at once: every line there, every file whole."
    n = 20
    procs = [python(WRITER, tmp_path, w, n) for w in ('p1', 'p2')]
    assert [p.stdout.readline() for p in procs] == ['ready\n'] * 2
    (tmp_path/'go').touch()                                       # all four start together
    threads = [threading.Thread(target=write_many, args=(tmp_path, w, n)) for w in ('t1', 't2')]
    for t in threads: t.start()
    for t in threads: t.join(120)
    for p in procs: assert p.wait(120) == 0, p.stderr.read()[-2000:]
    folder = tmp_path/'smoke'
    lines = [json.loads(l) for l in (folder/'batches.jsonl').read_text().splitlines()]   # every line valid JSON
    for w in ('p1', 'p2', 't1', 't2'):                                                    # none lost, each writer's in order
        assert [l['seconds'] for l in lines if l['overrides'] == {'who': w}] == [float(i) for i in range(n)], w
    rec = json.loads((folder/'fig3_1.json').read_text())
    assert rec['results']['i'] == n - 1 and rec['results']['who'] in ('p1', 'p2', 't1', 't2')
    df = pd.read_csv(folder/'fig3_1.csv'); assert list(df.columns) == ['who', 'i'] and len(df) == 1
    assert (folder/'fig3_1.md').read_text().startswith('| who ') and temporaries(folder) == []

BATCH = '''
import sys, time
from pathlib import Path
from edgenes.paper import folder_lock
from edgenes.reproduce import log_batch
folder = Path(sys.argv[1])
with folder_lock(folder, 'batch'):
    print('held', flush=True)
    while not (folder.parent/'release').exists(): time.sleep(0.02)
    log_batch(folder, 'smoke', ['fig3_1'], [{'item': 'fig3_1', 'status': 'ok', 'seconds': 1.0}], 1.0, 0, {'who': 'batch'})
'''
NOTEBOOK = '''
import sys
from edgenes.paper import paper_context
ctx = paper_context('fig3_1', 'smoke', out_dir=sys.argv[1], cache_dir=sys.argv[1]); ctx.save_record(who='by hand')
'''
def test_notebook_by_hand_waits_for_the_batch(tmp_path):
    "A notebook run by hand writing into a folder a batch holds says so in one line and waits; then it writes, whole."
    folder = tmp_path/'smoke'
    batch = python(BATCH, folder); assert batch.stdout.readline() == 'held\n', batch.stderr.read()
    nb = python(NOTEBOOK, tmp_path)
    line = nb.stdout.readline()                                            # printed before it waits
    assert line.startswith(f'another batch (pid {batch.pid}, started ') and line.endswith(f'is writing {folder.resolve()}; waiting for it\n'), line
    time.sleep(0.3); assert nb.poll() is None and not (folder/'fig3_1.json').exists()   # still waiting, nothing written
    (tmp_path/'release').touch()
    assert batch.wait(60) == 0 and nb.wait(60) == 0, batch.stderr.read() + nb.stderr.read()
    assert json.loads((folder/'batches.jsonl').read_text())['overrides'] == {'who': 'batch'}
    assert json.loads((folder/'fig3_1.json').read_text())['results'] == {'who': 'by hand'} and temporaries(folder) == []

def test_batch_notebooks_write_under_its_lock(tmp_path):
    "The notebooks a batch starts (its child processes) write under the batch's lock; a batch started by it waits."
    folder = tmp_path/'smoke'
    with folder_lock(folder, 'batch'):
        nb = python(NOTEBOOK, tmp_path); assert nb.wait(60) == 0 and nb.stdout.read() == '', nb.stderr.read()
        assert json.loads((folder/'fig3_1.json').read_text())['results'] == {'who': 'by hand'}
        second = python(BATCH, folder); line = second.stdout.readline(); second.kill(); second.wait()
        assert line.startswith(f'another batch (pid {os.getpid()}, ') and line.endswith('waiting for it\n'), line


class FullDisk:
    "A file that takes half of the first write, then fails as a full disk does (OSError ENOSPC)."
    def __init__(self, f): self.f = f
    def write(self, b):
        self.f.write(b[:max(1, len(b) // 2)]); self.f.flush(); raise OSError(errno.ENOSPC, 'No space left on device')
    def __getattr__(self, k): return getattr(self.f, k)
    def __enter__(self): return self
    def __exit__(self, *a): return self.f.__exit__(*a)

@pytest.fixture
def written(tmp_path):
    "An item's outputs and a batch's line, written before the disk fills: (context, figure, the files' bytes)."
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    ctx = paper_context('fig3_1', 'smoke', out_dir=str(tmp_path), cache_dir=str(tmp_path))
    fig, ax = plt.subplots(); ax.plot([0, 1], [1, 0])
    ctx.save_table(pd.DataFrame({'a': [1]})); ctx.save_figure(fig); ctx.save_record(x=1)
    log_batch(ctx.out, 'smoke', ['fig3_1'], OK(1), 1.0, 0)
    yield ctx, fig, outputs(ctx.out)
    plt.close(fig)

def test_full_disk_keeps_every_finished_file(written, monkeypatch):
    "Each writer fails half way with ENOSPC: 'disk full' naming the file, the previous files byte for byte, no temporary file."
    ctx, fig, before = written
    real_open = open
    monkeypatch.setattr(edgenes.paper, 'open', lambda p, mode='r', *a, **k: FullDisk(real_open(p, mode, *a, **k)) if 'w' in mode
                        else real_open(p, mode, *a, **k), raising=False)
    writes = {'fig3_1.csv': lambda: ctx.save_table(pd.DataFrame({'a': [2]})), 'fig3_1.png': lambda: ctx.save_figure(fig),
              'fig3_1.json': lambda: ctx.save_record(x=2), 'batches.jsonl': lambda: log_batch(ctx.out, 'smoke', ['fig3_1'], OK(2), 2.0, 0)}
    for name, write in writes.items():
        with pytest.raises(OSError, match=f'disk full: {ctx.out/name}') as e: write()
        assert e.value.errno == errno.ENOSPC and 'the previous version is unchanged' in str(e.value)
        assert outputs(ctx.out) == before, name
        assert temporaries(ctx.out) == []
    monkeypatch.undo()
    assert ctx.save_record(x=3) and json.loads((ctx.out/'fig3_1.json').read_text())['results'] == {'x': 3}   # space again: it writes


def refused(tmp_path, *args, env=None)->str:
    "Run the command with a bad input: it exits 2 with one line on stderr, no traceback, and writes nothing."
    out, cache = tmp_path/'out', tmp_path/'cache'
    p = subprocess.run([EXE, '--preset', 'smoke', '--out_dir', str(out), '--cache_dir', str(cache), *args], capture_output=True,
                       text=True, timeout=120, env={**os.environ, 'OMP_NUM_THREADS': '1', **(env or {})})
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith('edgenes-reproduce: ') and 'Traceback' not in p.stderr, p
    assert not out.exists() and not cache.exists()              # no lock file, no batches.jsonl line, no store folder
    return lines[0]

NO_GPU = {'CUDA_VISIBLE_DEVICES': ''}                            # as on a machine without a GPU, wherever the test runs
@pytest.mark.parametrize('args, env, msg', [
    (('--device', 'tpu'), None, '--device tpu: not a device; use cpu, cuda or cuda:N'),
    (('--device', 'cuda'), NO_GPU, '--device cuda: no CUDA GPU is visible to this process; use --device cpu'),
    (('--set', 'search_epochs=-1'), None, "preset key 'search_epochs' must be an int >= 1"),
    (('--plan', '--set', 'retrain_epochs=-1'), None, "preset key 'retrain_epochs' must be an int >= 1"),
    (('--plan', '--device', 'cuda:1'), NO_GPU, '--device cuda:1: no CUDA GPU'),
], ids=['tpu', 'cuda', 'search_epochs', 'plan-retrain_epochs', 'plan-cuda1'])
def test_bad_flag_refused_in_one_line(tmp_path, args, env, msg):
    "A device this process can't use, a setting out of its range (with --plan too): one line, exit 2, nothing written."
    assert msg in refused(tmp_path, *args, env=env)

@pytest.mark.parametrize('text, msg', [
    ('search_epochs: 3\nretrain_epochs 2\n', "--config {cfg}: not valid YAML (line 3, column 1): could not find expected ':' (while scanning a simple key "
                                             "at line 2, column 1); fix the file or use --set key=value"),
    ('- search_epochs\n', '--config {cfg}: expected a mapping of preset fields (key: value), got list'),
    ('search_epochs: 0\n', "preset key 'search_epochs' must be an int >= 1"),
], ids=['syntax', 'not-a-mapping', 'out-of-range'])
def test_bad_config_refused_in_one_line(tmp_path, text, msg):
    "A --config file with a YAML syntax error, not a mapping, or a value out of range: one line, exit 2, nothing written."
    cfg = tmp_path/'c.yaml'; cfg.write_text(text)
    assert msg.format(cfg=cfg) in refused(tmp_path, '--config', str(cfg))

def test_busy_folder_refused_with_no_wait(tmp_path):
    "With --no_wait a batch finding its output folder held refuses, naming the holder; nothing of it is written."
    folder, cache = tmp_path/'out'/'smoke', tmp_path/'cache'
    with folder_lock(folder, 'batch'):
        p = subprocess.run([EXE, '--preset', 'smoke', '--only', 'theorem1', '--out_dir', str(tmp_path/'out'), '--cache_dir', str(cache),
                            '--no_wait'], capture_output=True, text=True, timeout=120, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert p.returncode == 2 and p.stderr.startswith(f'edgenes-reproduce: another batch (pid {os.getpid()}, started '), p
    assert 'run again when it ends, or without --no_wait to wait for it' in p.stderr and len(p.stderr.splitlines()) == 1
    assert sorted(os.listdir(folder)) == ['.lock'] and not list(cache.rglob('*.pt'))
