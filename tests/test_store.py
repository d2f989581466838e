"""The artifact store (edgenes.store) and the experiment built on it (edgenes.experiment): every training artifact
resumes from its per-epoch checkpoint (killed in-process and by SIGKILL) and ends equal to an uninterrupted run; two
processes compute one artifact once; keys follow the data's content and the device type, and are stable across
processes; pickles that would run code are refused; no import cycles between modules (`edgenes-cache` and the
store's faults: tests/test_store_faults.py)."""
import ast, json, os, signal, subprocess, sys, textwrap, warnings
from pathlib import Path
import pytest, torch
from edgenes.arch import random_arch
from edgenes.config import get_preset
from edgenes.data import ImageData, load_embedded, make_splits
from edgenes.experiment import Experiment
from edgenes.learner import Callback
from edgenes.runtime import Run
from edgenes.search import darts_search
from edgenes.store import Store, StoreCheckpointCB

ROOT = Path(__file__).resolve().parents[1]
P = get_preset('smoke', C=4, search_epochs=2, hyper_epochs=2, a_lr=0.05, retrain_C=4, retrain_epochs=2, ens_N=2)
ENV = {**os.environ, 'PYTHONPATH': f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
SPLITS = "make_splits(load_embedded(), seed=0, valid_frac=0.1, n_train=300)"   # conftest's tiny_splits

class Crash(Exception): pass
class CrashAfterFirst(Callback):
    "Stop the training after its first epoch, once the checkpoint (order 100) is written: a killed job."
    order = 1000
    def after_epoch(self, learn):
        if learn.epoch == 0: raise Crash('killed after epoch 1')
class CountEpochs(Callback):
    "How many epochs a training ran (a resumed one: only those after its checkpoint)."
    def __init__(self): self.n = 0
    def before_epoch(self, learn): self.n += 1

ARCHS = [random_arch(0), random_arch(1)]
ARTIFACTS = {   # kind: (how to get it from an experiment, what must be equal)
    'search': lambda e: e.alpha_star(0),
    'regularised': lambda e: e.regularised(0, 2),
    'hypernet': lambda e: e.hypernet(0),
    'retrain': lambda e: e.retrained(ARCHS[0], 0),
    'ensemble': lambda e: e.trained_ensemble(ARCHS, 0, 'dash'),
}

def same(a, b, path='') -> None:
    "Assert equal results, tensors exactly; wall-clock (`seconds`, `cost`) may differ."
    if isinstance(a, torch.Tensor): assert torch.equal(a, b), path; return
    if hasattr(a, '__dataclass_fields__'): a, b = vars(a), vars(b)
    if isinstance(a, dict):
        keys = set(a) - {'seconds', 'cost'}
        assert keys == set(b) - {'seconds', 'cost'}, path
        for k in keys: same(a[k], b[k], f'{path}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)): same(x, y, f'{path}[{i}]')
    elif isinstance(a, torch.nn.Module): same(a.state_dict(), b.state_dict(), path)
    else: assert a == b, (path, a, b)

def exp(splits, root, **kw): return Experiment(P, splits, cache=Store(root), run=Run('cpu'), **kw)

@pytest.mark.parametrize('kind', list(ARTIFACTS))
def test_killed_training_resumes_from_the_store(tiny_splits, tmp_path, kind):
    get = ARTIFACTS[kind]
    if kind in ('regularised', 'hypernet'): exp(tiny_splits, tmp_path/'a').alpha_star(0)     # their alpha*, finished
    killed = exp(tiny_splits, tmp_path/'a', cbs=(CrashAfterFirst(),))
    with pytest.raises(Crash): get(killed)
    ck = list((tmp_path/'a'/'ckpt').glob(f'{kind}-*.ckpt'))
    assert len(ck) == 1 and torch.load(ck[0], weights_only=True)['epoch'] == 0
    resumed = exp(tiny_splits, tmp_path/'a', cbs=(count := CountEpochs(),))
    r = get(resumed)
    assert resumed.cache.misses == 1 and not ck[0].exists()        # it went on from the checkpoint, which is gone
    assert count.n == 1                                             # only the second epoch was trained
    same(r, get(exp(tiny_splits, tmp_path/'b')))                    # = an uninterrupted run

def test_sigkilled_retraining_resumes(tiny_splits, tmp_path):
    "A retraining killed by SIGKILL in another process after its first epoch resumes here from the store's checkpoint."
    script = f"""
        import os, signal
        from edgenes.config import get_preset
        from edgenes.data import load_embedded, make_splits
        from edgenes.arch import random_arch
        from edgenes.experiment import Experiment
        from edgenes.runtime import Run
        from edgenes.store import Store
        from edgenes.learner import Callback
        from edgenes.runtime import Run
        class Kill(Callback):
            order = 1000
            def after_epoch(self, learn): os.kill(os.getpid(), signal.SIGKILL)
        P = get_preset('smoke', C=4, search_epochs=2, hyper_epochs=2, a_lr=0.05, retrain_C=4, retrain_epochs=2, ens_N=2)
        Experiment(P, {SPLITS}, cache=Store({str(tmp_path/'a')!r}), run=Run('cpu'), cbs=(Kill(),)).retrained(random_arch(0), 0)
    """
    p = subprocess.run([sys.executable, '-c', textwrap.dedent(script)], env=ENV, capture_output=True, text=True)
    assert p.returncode == -signal.SIGKILL, p.stderr[-2000:]
    assert len(list((tmp_path/'a'/'ckpt').glob('retrain-*.ckpt'))) == 1
    resumed = exp(tiny_splits, tmp_path/'a', cbs=(count := CountEpochs(),))
    same(resumed.retrained(ARCHS[0], 0), exp(tiny_splits, tmp_path/'b').retrained(ARCHS[0], 0))
    assert resumed.cache.misses == 1 and count.n == 1 and not list((tmp_path/'a'/'ckpt').glob('*.ckpt'))

def test_two_processes_compute_an_artifact_once(tmp_path):
    "The second process waits for the first's lock, then reads its entry."
    marker = tmp_path/'computed'
    script = f"""
        import os, time
        from edgenes.store import Store
        s = Store({str(tmp_path/'store')!r})
        def compute():
            with open({str(marker)!r}, 'a') as f: f.write(f'{{os.getpid()}}\\n')
            time.sleep(3); return {{'by': os.getpid()}}
        v = s.get('thing', {{'fn': 'compute', 'seed': 0}}, compute)
        print(v['by'], s.hits, s.misses)
    """
    ps = [subprocess.Popen([sys.executable, '-c', textwrap.dedent(script)], env=ENV, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in ps]
    assert all(p.returncode == 0 for p in ps), [e[-2000:] for _, e in outs]
    assert len(marker.read_text().split()) == 1                       # computed once
    rows = [o.split() for o, _ in outs]
    assert rows[0][0] == rows[1][0]                                    # both got the first's result
    assert sorted((r[1], r[2]) for r in rows) == [('0', '1'), ('1', '0')]   # one miss, one hit

def test_two_processes_retrain_an_architecture_once(tmp_path):
    "Two jobs of one batch asking for the same retraining: one trains it (misses 1), the other reads its entry (hits 1)."
    script = f"""
        from edgenes.config import get_preset
        from edgenes.data import load_embedded, make_splits
        from edgenes.arch import random_arch
        from edgenes.experiment import Experiment
        from edgenes.runtime import Run
        from edgenes.store import Store
        P = get_preset('smoke', C=4, search_epochs=2, hyper_epochs=2, a_lr=0.05, retrain_C=4, retrain_epochs=2, ens_N=2)
        e = Experiment(P, {SPLITS}, cache=Store({str(tmp_path)!r}), run=Run('cpu'))
        r = e.retrained(random_arch(0), 0)
        print(e.cache.hits, e.cache.misses, r.test_probs.sum().item())
    """
    ps = [subprocess.Popen([sys.executable, '-c', textwrap.dedent(script)], env=ENV, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in ps]
    assert all(p.returncode == 0 for p in ps), [e[-2000:] for _, e in outs]
    rows = sorted(o.split() for o, _ in outs)
    assert [r[:2] for r in rows] == [['0', '1'], ['1', '0']] and rows[0][2] == rows[1][2]
    assert len(list(tmp_path.glob('retrain/*.pt'))) == 1

def test_keys_follow_data_content_and_device_and_are_stable(embedded):
    sp = make_splits(embedded, 0, P.valid_frac, P.n_train)
    fake = ImageData('embedded', torch.randint(0, 256, embedded.x_train.shape, dtype=torch.uint8,
                                               generator=torch.Generator().manual_seed(0)),
                     torch.randint(0, 5, embedded.y_train.shape), embedded.x_test, embedded.y_test % 5, 5)
    key = lambda e: Store.key(e.spec(darts_search, seed=0, snapshots=1))
    cpu = key(Experiment(P, sp, run=Run('cpu')))
    assert cpu != key(Experiment(P, make_splits(fake, 0, P.valid_frac, P.n_train), run=Run('cpu')))   # same preset, other data
    assert cpu != key(Experiment(P, sp, run=Run('cuda')))
    script = f"""
        from edgenes.config import get_preset
        from edgenes.data import load_embedded, make_splits
        from edgenes.experiment import Experiment
        from edgenes.runtime import Run
        from edgenes.search import darts_search
        from edgenes.store import Store
        P = get_preset('smoke', C=4, search_epochs=2, hyper_epochs=2, a_lr=0.05, retrain_C=4, retrain_epochs=2, ens_N=2)
        print(Store.key(Experiment(P, make_splits(load_embedded(), 0, P.valid_frac, P.n_train), run=Run('cpu')).spec(darts_search, seed=0, snapshots=1)))
    """
    p = subprocess.run([sys.executable, '-c', textwrap.dedent(script)], env=ENV, capture_output=True, text=True)
    assert p.stdout.strip() == cpu, p.stderr[-2000:]

class Evil:
    def __init__(self, path): self.path = path
    def __reduce__(self): return (os.system, (f'touch {self.path}',))

def test_pickles_that_run_code_are_refused(tmp_path):
    s, spec, ran = Store(tmp_path/'store'), {'fn': 'x'}, tmp_path/'ran'
    p = s.path('search', spec); p.parent.mkdir(parents=True)
    torch.save({'format': 'edgenes.store/1', 'spec': spec, 'value': Evil(ran)}, p)
    with pytest.warns(UserWarning, match='moved it to'): assert s.get('search', spec, lambda: {'v': 1}) == {'v': 1}
    assert not ran.exists() and len(list(p.parent.glob('*.corrupt-*'))) == 1 and s.misses == 1
    ck = tmp_path/'c.ckpt'; torch.save({'format': 'edgenes.store-ckpt/1', 'x': Evil(ran)}, ck)   # a checkpoint, likewise
    from edgenes.retrain import retrain
    with pytest.warns(UserWarning, match='starting this training from the beginning'):
        retrain(ARCHS[0], make_splits(load_embedded(), 0, 0.1, 100), retrain_C=4, retrain_epochs=1, run=Run('cpu'),
                cbs=[StoreCheckpointCB(ck, {'key': 'k'})])
    assert not ran.exists()

def test_entries_of_an_older_format_are_recomputed(tmp_path):
    s, spec = Store(tmp_path), {'fn': 'x'}
    p = s.path('retrain', spec); p.parent.mkdir(parents=True)
    torch.save({'spec': spec, 'value': {'v': 0}}, p)                 # what the old Cache wrote (minus its pickled classes)
    with pytest.warns(UserWarning, match='older format'): assert s.get('retrain', spec, lambda: {'v': 1}) == {'v': 1}
    assert Store(tmp_path).get('retrain', spec, lambda: {'v': 2}) == {'v': 1}

def imports() -> dict:
    "module: the edgenes modules it imports (at the top or inside functions)."
    out = {}
    for f in (ROOT/'edgenes').glob('*.py'):
        if f.name.startswith('_'): continue
        deps = set()
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.ImportFrom) and n.module:
                m = n.module if n.level == 0 else f'edgenes.{n.module}'
                if m.startswith('edgenes.'): deps.add(m.split('.')[1])
            elif isinstance(n, ast.Import): deps |= {a.name.split('.')[1] for a in n.names if a.name.startswith('edgenes.')}
        out[f.stem] = deps - {f.stem}
    return out

def test_no_import_cycles():
    g = imports()
    assert {'store', 'experiment', 'methods', 'ensemble'} <= set(g)
    assert not g['ensemble'] & {'store', 'experiment', 'methods'} and not g['store'] & {'experiment', 'methods', 'ensemble'}
    state = {}
    def visit(m, stack):
        state[m] = 'open'
        for d in g.get(m, ()):
            assert state.get(d) != 'open', f"import cycle: {' -> '.join(stack + [m, d])}"
            if d not in state: visit(d, stack + [m])
        state[m] = 'done'
    for m in g:
        if m not in state: visit(m, [])
