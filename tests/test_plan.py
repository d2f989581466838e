"""The batch as a plan (edgenes.plan): each item's plan lists the artifacts its notebook reads, in dependency order; two
worker processes make the same store entries as one, and a failing task stops only its dependants; the command line's
settings (--set, --config, --seeds, --tag) reach the plan and the output folder. (The smoke batch of tests/test_paper.py
runs every notebook against a read-only store after its plan: that proves the plans are complete.)"""
import subprocess, sys
from collections import Counter
from pathlib import Path
import pytest, torch
from edgenes.plan import RunSpec, Task, make_plan
from edgenes.cost import estimate
from edgenes.execute import execute, worker_threads
from conftest import torch_threads
from edgenes.paper import PAPER
from edgenes.reproduce import edgenes_reproduce

EXE = str(Path(sys.executable).parent/'edgenes-reproduce')
TINY = dict(n_train=64, C=2, retrain_C=4, search_bs=32, retrain_bs=64, ens_n=2, ens_N=3)
# artifacts per item at seeds [0, 1] with n=2, N=3 (Lambda=4): what each notebook in nbs/paper/ reads
EXPECTED = {'fig3_1': {'search': 2, 'hypernet': 2},
            'table2': {'search': 2, 'hypernet': 2, 'retrain': 2 * 4 * 2},               # 4 lambdas x (hypernetwork, deviation)
            'fig3_2': {'search': 2, 'hypernet': 2, 'retrain': 2 * 5 * 2},               # lambda 0..Lambda
            'table1': {'search': 2, 'regularised': 2 * 3 * 2, 'retrain': 2 * 3 * 2},    # 3 lambdas x warm-up on/off
            'table3': {'search': 2 * 2, 'hypernet': 2, 'retrain': 2 * (1 + 1 + 2 + 3 + 3 + 3), 'ensemble': 2 * 4, 'attack': 2 * 10},
            'fig4_1': {'search': 2 * 2, 'hypernet': 2},                                  # alpha* and DartsEns's second search
            'theorem1': {'search': 1, 'hypernet': 1, 'retrain': 3}}                      # the first seed's EdgeNES


def test_every_item_has_a_plan(): assert set(EXPECTED) == set(PAPER)


@pytest.mark.parametrize('item', list(EXPECTED))
def test_plan_of_each_item(item, tmp_path):
    tasks = make_plan(RunSpec('smoke', TINY, str(tmp_path)), [item], [0, 1], resolve=False)
    assert dict(Counter(t.kind for t in tasks)) == EXPECTED[item]
    pos = {t.id: i for i, t in enumerate(tasks)}
    assert len(pos) == len(tasks) and all(pos[d] < pos[t.id] for t in tasks for d in t.deps)   # dependency order, unique
    assert all(t.items == (item,) for t in tasks)
    kinds = {t.id: t.kind for t in tasks}
    for t in tasks:   # what each kind needs first
        need = {kinds[d] for d in t.deps}
        if t.kind in ('hypernet', 'regularised'): assert need == {'search'}
        if t.kind == 'attack': assert need in ({'retrain'}, {'ensemble'})


def test_plan_merges_items_and_checks_input(tmp_path):
    spec = RunSpec('smoke', TINY, str(tmp_path))
    both = make_plan(spec, ['table2', 'fig3_2'], [0], resolve=False)
    assert len(both) == len(make_plan(spec, ['fig3_2'], [0], resolve=False))        # table2's lambdas are fig3_2's
    assert next(t for t in both if t.id == 'retrain hypernet(seed=0)@lam=1').items == ('table2', 'fig3_2')
    with pytest.raises(ValueError, match="unknown paper item.*valid: fig3_1"): make_plan(spec, ['fig9'], [0])
    with pytest.raises(ValueError, match='seeds must be a non-empty list of ints'): make_plan(spec, ['fig3_1'], [])


def _entries(root):
    "Every store entry under `root`: kind/key -> its value."
    return {f'{p.parent.name}/{p.stem}': torch.load(p, weights_only=True)['value'] for p in Path(root).glob('*/*.pt')}


def test_two_workers_match_one_and_failures_stop_dependants(tmp_path):
    tiny = dict(TINY, n_train=48, search_epochs=1, hyper_epochs=1)
    one, two = RunSpec('smoke', tiny, str(tmp_path/'one')), RunSpec('smoke', tiny, str(tmp_path/'two'))
    plan = make_plan(one, ['fig4_1'], [0])                          # alpha*, DartsEns's second search, the hypernetwork
    assert [t.kind for t in plan] == ['search', 'search', 'hypernet']
    plan = plan[:2]                                                  # the two searches (independent: both workers busy)
    broken = [Task('broken', 'search', 'make_search', {'seed': 'x'}), Task('after broken', 'hypernet', 'make_hypernet', {'seed': 0}, ('broken',))]
    with torch_threads(worker_threads(2)): r1 = execute(one, plan)   # in process at the workers' thread count
    r2 = {r['id']: r for r in execute(two, broken[:1] + plan + broken[1:], workers=2)}
    assert {r['status'] for r in r1} == {'ok'} and all(r2[t.id]['status'] == 'ok' for t in plan)
    assert r2['broken']['status'] == 'failed' and 'seed must be an int' in r2['broken']['error']
    assert r2['after broken']['status'] == 'skipped' and "needs 'broken', which failed" in r2['after broken']['error']
    a, b = _entries(one.store_root), _entries(two.store_root)
    assert sorted(a) == sorted(b) and len(a) == 2 and [r['key'] for r in r1] == [r2[t.id]['key'] for t in plan]
    for k in a: assert a[k]['arch'] == b[k]['arch'] and torch.equal(a[k]['alpha'], b[k]['alpha']) and torch.equal(a[k]['beta'], b[k]['beta'])
    assert {e['state'] for e in estimate(two, plan)} == {'cached'}


def test_command_line_settings(tmp_path, capsys):
    cfg = tmp_path/'c.yaml'; cfg.write_text('search_epochs: 3\nretrain_epochs: 2\n')
    p = subprocess.run([EXE, '--preset', 'smoke', '--plan', '--only', 'fig3_1,theorem1', '--seeds', '5,6', '--config', str(cfg),
                        '--set', 'retrain_epochs=4', '--set', f'n_train={64}', '--cache_dir', str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert [l.split()[0:2] for l in lines[:4]] == [['search', 'seed=5'], ['hypernet', 'seed=5'], ['search', 'seed=6'], ['hypernet', 'seed=6']]
    assert sum(l.startswith('retrain edgenes seed=5') for l in lines) == 3 and 'seed=6 #' not in p.stdout   # theorem1: first seed
    assert '0 cached' in lines[-2] and 'total about' in lines[-2]
    assert lines[-1].startswith('projected on one GPU: about ') and 'GPU-hours' in lines[-1]
    edgenes_reproduce(preset='smoke', dry_run=True, tag='long', out_dir=str(tmp_path), set=['retrain_epochs=2'])
    assert f"{tmp_path/'smoke-long'}/fig3_1.*" in capsys.readouterr().out                    # a tag has its own folder
    for kw, msg in [({'set': ['epochs=1']}, "unknown preset key 'epochs'; valid keys: dataset"),
                    ({'set': ['retrain_epochs=two']}, 'retrain_epochs takes a int'),
                    ({'seeds': '1,a'}, 'comma-separated ints'), ({'config': str(tmp_path/'none.yaml')}, 'no such file'),
                    ({'executor': 'ray'}, "unknown executor 'ray'"), ({'dataset': 3.5}, "'dataset' must be str")]:
        with pytest.raises(SystemExit, match=msg): edgenes_reproduce(preset='smoke', plan=True, **kw)
