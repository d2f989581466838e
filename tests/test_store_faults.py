"""Faults of the artifact store (issue 23), each injected here: a flipped bit inside an entry's tensor is caught by the
entry's content hash (warned, set aside, computed again and equal); `edgenes-cache verify` names a damaged entry and exits
1; `ls`, `du` and `rm` exit 0 and print only their tables; a full disk (ENOSPC raised by the write, or a real 1 MB tmpfs)
is said in one line, leaves no temporary file and every finished entry intact; a training killed and resumed records the
seconds of both attempts."""
import errno, json, os, struct, subprocess, sys, time, zipfile
from dataclasses import replace
from pathlib import Path
import pytest, torch
from edgenes.arch import random_arch
from edgenes.config import get_preset
from edgenes.execute import execute
from edgenes.experiment import Experiment
from edgenes.learner import Callback
from edgenes.runtime import Run
from edgenes.plan import RECIPES, RunSpec, Task
from edgenes.store import Store

EXE = str(Path(sys.executable).parent/'edgenes-cache')     # the console script
P = get_preset('smoke', C=4, search_epochs=2, retrain_C=4, retrain_epochs=2)
ARCHS = [random_arch(0), random_arch(1)]
FULL = (r"^disk full: .+ needs about [\d.]+ MB more \(free: [\d.]+ MB\); free space or set --cache_dir/\$EDGENES_CACHE "
        r"to a larger disk$")


def flip(p:Path):
    "Flip one bit inside the bytes of the largest tensor of the zip file `p` (a high bit of a float's exponent)."
    z = zipfile.ZipFile(p); i = max((i for i in z.infolist() if '/data/' in i.filename), key=lambda i: i.file_size)
    raw = bytearray(p.read_bytes()); n, m = struct.unpack('<HH', raw[i.header_offset + 26:i.header_offset + 30])
    raw[i.header_offset + 30 + n + m + i.file_size // 8 * 4 + 3] ^= 0x40; p.write_bytes(raw)

def equal(a, b) -> bool:
    "Two retrainings give the same numbers (wall-clock aside)."
    return (torch.equal(a.test_probs, b.test_probs) and torch.equal(a.valid_probs, b.valid_probs)
            and all(torch.equal(v, b.weights[0][k]) for k, v in a.weights[0].items()))

def tensors(v) -> list:
    "The tensors in a plain value, in order."
    if isinstance(v, torch.Tensor): return [v]
    if isinstance(v, dict): v = list(v.values())
    return [t for x in v for t in tensors(x)] if isinstance(v, (list, tuple)) else []

class Kill(Callback):
    "A job killed after its first epoch, once its checkpoint is written."
    order = 1000
    def after_epoch(self, learn):
        if learn.epoch == 0: raise KeyboardInterrupt('killed')

def exp(splits, root, **kw): return Experiment(P, splits, cache=Store(root), run=Run('cpu'), **kw)

def cache(*args):
    "`edgenes-cache ARGS` in a process of its own."
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True)

def small_store(root:Path) -> Store:
    s = Store(root)
    for i in range(2): s.get('search', {'fn': 'darts_search', 'seed': i}, lambda: {'alpha': torch.linspace(-0.03, 0.03, 64) * (i + 1)})
    return s

def dead_pid() -> int:
    "A process id that no process has here."
    return next(n for n in range(4_000_000, 4_200_000) if not Path(f'/proc/{n}').exists())


def test_a_flipped_bit_is_set_aside_and_recomputed(tiny_splits, tmp_path):
    e = exp(tiny_splits, tmp_path)
    first = e.retrained(ARCHS[0], 0); [p] = (tmp_path/'retrain').glob('*.pt')
    second = e.retrained(ARCHS[1], 0); [q] = set((tmp_path/'retrain').glob('*.pt')) - {p}; q_bytes = q.read_bytes()
    before = torch.load(p, weights_only=True)['value']; flip(p)
    silently = torch.load(p, weights_only=True)['value']           # torch reads it without a word, with another number in it
    assert any(not torch.equal(a, b) for a, b in zip(tensors(before), tensors(silently)))
    again = exp(tiny_splits, tmp_path)
    with pytest.warns(UserWarning, match=r'store entry .* was unreadable \(ValueError: its content does not match its hash'):
        r = again.retrained(ARCHS[0], 0)
    assert again.cache.misses == 1 and equal(r, first)              # computed again, equal to the original
    assert len(list((tmp_path/'retrain').glob('*.corrupt-*'))) == 1  # the damaged file kept aside
    assert q.read_bytes() == q_bytes and equal(again.retrained(ARCHS[1], 0), second) and again.cache.misses == 1


def test_verify_names_damaged_entries(tmp_path):
    s = small_store(tmp_path/'smoke'); p = s.path('search', {'fn': 'darts_search', 'seed': 1})
    old = s.path('search', {'fn': 'old'}); torch.save({'format': 'edgenes.store/1', 'spec': {'fn': 'old'}, 'value': 1}, old)
    r = cache('verify', '--root', tmp_path)
    assert r.returncode == 0 and r.stderr == '', r.stderr
    assert f'{old.stem:26} no hash (older entry)' in r.stdout and r.stdout.count(' ok\n') == 2 and '3 entries checked, 0 damaged' in r.stdout
    good = p.read_bytes(); flip(p)
    r = cache('verify', '--root', tmp_path)
    assert r.returncode == 1 and f'{p.stem:26} damaged: ValueError: its content does not match its hash' in r.stdout
    assert r.stderr.strip().splitlines() == [f'edgenes-cache verify: 1 damaged (key {p.stem}): the store sets a damaged entry aside '
                                             'and computes it again when asked; `edgenes-cache rm --key KEY` removes one now']
    p.write_bytes(good[:100])                                        # truncated: `ls` sees it without reading the entry
    r = cache('ls', '--root', tmp_path)
    assert r.returncode == 0 and '[damaged: 100 bytes, written with' in r.stdout and '; 1 damaged' in r.stdout
    assert cache('verify', '--root', tmp_path).returncode == 1
    p.write_bytes(good); assert cache('verify', '--root', tmp_path).returncode == 0


def test_ls_du_rm_exit_0_and_print_only_their_table(tmp_path):
    small_store(tmp_path/'smoke')
    t = tmp_path/'smoke'/'search'/f'.abc.pt.{dead_pid()}.tmp'; t.write_bytes(bytes(5000))     # a write killed with kill -9
    os.utime(t, (time.time() - 120,) * 2)
    for args in (['ls'], ['du'], ['verify'], ['rm', '--kind', 'search', '--dry_run'], ['rm', '--orphans']):
        r = cache(*args, '--root', tmp_path)
        assert r.returncode == 0 and r.stderr == '', (args, r.returncode, r.stderr)
        if args == ['ls']: assert r.stdout.splitlines()[-1].startswith('2 entries, ')
        if args == ['du']: assert [l.split()[0] for l in r.stdout.splitlines()] == ['search', 'temporary', 'total']
        if args == ['verify']: assert f'{t.name:26} orphaned temporary file' in r.stdout
    assert not t.exists() and len(list((tmp_path/'smoke'/'search').glob('*.pt'))) == 2        # the orphan went, the entries stay
    r = cache('rm', '--root', tmp_path)
    assert r.returncode == 1 and r.stderr.strip().startswith('edgenes-cache rm: give --kind') and 'Traceback' not in r.stderr


def test_a_full_disk_is_said_and_loses_nothing(tmp_path, monkeypatch):
    s = small_store(tmp_path); before = {p: p.read_bytes() for p in tmp_path.rglob('*.pt')}
    real = torch.save
    def fills_up(obj, f):                                            # the disk fills up halfway through the write
        f.write(bytes(5000)); raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(torch, 'save', fills_up)
    with pytest.raises(OSError, match=FULL) as e: s.get('search', {'fn': 'darts_search', 'seed': 2}, lambda: {'w': torch.zeros(2**20)})
    assert e.value.errno == errno.ENOSPC and 'needs about 4.1 MB more' in str(e.value)
    monkeypatch.setattr(torch, 'save', real)
    assert not [p for p in tmp_path.rglob('*') if p.name.endswith('.tmp')]                     # no temporary file left
    assert {p: p.read_bytes() for p in tmp_path.rglob('*.pt')} == before                       # the finished entries as they were
    t = Store(tmp_path)
    for i in range(2):
        assert torch.equal(t.get('search', {'fn': 'darts_search', 'seed': i}, None)['alpha'], torch.linspace(-0.03, 0.03, 64) * (i + 1))
    assert t.get('search', {'fn': 'darts_search', 'seed': 2}, lambda: {'w': torch.ones(3)})['w'].sum() == 3 and t.misses == 1


def test_a_full_disk_during_a_checkpoint_keeps_the_last_one(tiny_splits, tmp_path, monkeypatch):
    "The second epoch's checkpoint finds the disk full: one line; the first epoch's checkpoint stays and the training resumes from it."
    real, n = torch.save, []
    def second_ckpt_fails(obj, f):
        if '.ckpt.' in f.name and len(n) >= 1: raise OSError(errno.ENOSPC, 'No space left on device')
        n.append(f.name); real(obj, f)
    monkeypatch.setattr(torch, 'save', second_ckpt_fails)
    with pytest.raises(OSError, match=FULL): exp(tiny_splits, tmp_path/'a').retrained(ARCHS[0], 0)
    monkeypatch.setattr(torch, 'save', real)
    [ck] = (tmp_path/'a'/'ckpt').glob('*.ckpt'); assert torch.load(ck, weights_only=True)['epoch'] == 0
    assert not [p for p in tmp_path.rglob('*') if p.name.endswith('.tmp')]
    resumed = exp(tiny_splits, tmp_path/'a')
    assert equal(resumed.retrained(ARCHS[0], 0), exp(tiny_splits, tmp_path/'b').retrained(ARCHS[0], 0))
    assert torch.load(next((tmp_path/'a'/'retrain').glob('*.pt')), weights_only=True)['attempts'] == 2


@pytest.fixture
def small_disk(tmp_path):
    "A 1 MB tmpfs (root only; skipped where mounting is not allowed)."
    d = tmp_path/'disk'; d.mkdir()
    try: r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(d)], capture_output=True, text=True)
    except FileNotFoundError: pytest.skip('no mount command')
    if r.returncode: pytest.skip(f'cannot mount a tmpfs here: {r.stderr.strip()}')
    try: yield d
    finally:
        if subprocess.run(['umount', str(d)], capture_output=True).returncode: subprocess.run(['umount', '-l', str(d)], capture_output=True)

def test_a_real_full_disk(small_disk):
    s = Store(small_disk); a = s.get('search', {'s': 1}, lambda: {'w': torch.randn(100_000)})          # 400 KB of 1 MB
    with pytest.raises(OSError, match=FULL): s.get('search', {'s': 2}, lambda: {'w': torch.randn(200_000)})   # 800 KB more
    assert not [p for p in small_disk.rglob('*') if p.name.endswith('.tmp')]
    assert torch.equal(Store(small_disk).get('search', {'s': 1}, None)['w'], a['w'])
    s.get('search', {'s': 3}, lambda: {'w': torch.randn(50_000)})     # the failed write left its room: the next entry fits


def test_a_resumed_entry_records_both_attempts(tmp_path, capsys):
    spec = RunSpec('smoke', dict(n_train=128, C=2, search_bs=32, search_epochs=2), str(tmp_path), device='cpu')
    task = Task('search seed=0', 'search', 'make_search', {'seed': 0})
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt): RECIPES['make_search'](replace(spec.build(), cbs=(Kill(),)), seed=0)
    first = time.perf_counter() - t0
    [ck] = (tmp_path/'ckpt').glob('search-*.ckpt'); spent = torch.load(ck, weights_only=True)['spent']
    t0 = time.perf_counter(); [r] = execute(spec, [task]); second = time.perf_counter() - t0
    rec = torch.load(tmp_path/'search'/f"{r['key']}.pt", weights_only=True)
    meta = json.loads((tmp_path/'search'/f"{r['key']}.json").read_text())
    assert rec['attempts'] == meta['attempts'] == r['resumed'] == 2 and rec['seconds'] == meta['seconds']
    assert 0 < spent <= first and spent < rec['seconds'] <= r['seconds'] <= spent + second      # the sum of both attempts
    cost, hist = rec['value']['cost'], rec['value']['history']
    assert cost['seconds'] == pytest.approx(sum(h['seconds'] for h in hist)) and len(hist) == 2  # the training's cost: both epochs
    assert f"[1/1] search seed=0: computed in {r['seconds']:.1f} s (resumed)" in capsys.readouterr().out
