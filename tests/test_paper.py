"""Every paper item runs at the smoke preset through the batch command and writes what it promises; bad parameters
fail clearly; a killed batch resumes without recomputing finished artifacts; a warm cache only re-renders. The batch
computes its plan first and runs the notebooks on a read-only store, so this also proves each item's plan complete."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest
from edgenes.paper import PAPER
from edgenes.config import get_preset
from edgenes.methods import METHODS
from edgenes.stats import VERDICTS

EXE = str(Path(sys.executable).parent/'edgenes-reproduce')
ACC = ['valid_acc', 'test_acc']
COLUMNS = {'theorem1': {'source', 'Lambda', 'n', 'closed_form', 'value', 'se', 'rel_diff'},
           'fig3_1': {'seed', 'lam', 'shared', 'arch'},
           'table2': {'seed', 'source', 'lam', 'shared', 'valid_acc', 'test_acc', 'arch'},
           'fig3_2': {'seed', 'source', 'lam', 'shared', 'deviation', 'valid_acc', 'test_acc'},
           'table1': {'seed', 'lam', 'warmup', 'shared', 'valid_acc', 'test_acc', 'arch', 'search_seconds'},
           'table3': {'method', 'seed', 'test_accuracy', 'test_nll', 'test_brier', 'test_ece', 'disagreement',
                      'pairwise_kl', 'search_seconds', 'retrain_seconds', 'device', 'attack_n', 'clean',
                      'fgsm@2/255', 'fgsm@8/255', 'pgd3@2/255', 'pgd3@8/255'},
           'fig4_1': {'method', 'seed', 'x', 'members', 'accuracy'}}

def batch(out, cache, *args, **kw):
    return subprocess.run([EXE, '--preset', 'smoke', '--out_dir', str(out), '--cache_dir', str(cache), *args],
                          capture_output=True, text=True, **kw)

def misses(out, keys): return sum(json.loads((out/'smoke'/f'{k}.json').read_text())['cache']['misses'] for k in keys)
def n_entries(cache): return len(list(Path(cache).rglob('*.pt')))

@pytest.fixture(scope='module')
def full(smoke_batch):
    """The whole batch at smoke, killed once some artifacts are on disk and run again to the end (conftest's
    `smoke_batch`, shared with tests/test_cluster.py): (output folder, cache, the completing command's result,
    artifacts on disk when it was killed)."""
    b = smoke_batch
    return Path(b['out']), Path(b['cache']), subprocess.CompletedProcess(b['args'], b['returncode'], b['stdout'], b['stderr']), b['done']

def test_every_item_is_checked(): assert set(COLUMNS) == set(PAPER)

def test_batch_succeeds(full):
    out, cache, p, _ = full
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert 'summary:' in p.stdout and all(f'{k}.png' in p.stdout for k in PAPER)
    b = json.loads((out/'smoke'/'batches.jsonl').read_text().splitlines()[-1])
    assert b['items'] == list(PAPER) and set(b['status'].values()) == {'ok'} and b['cache']['hits'] + b['cache']['misses'] > 0

@pytest.mark.parametrize('key', list(PAPER))
def test_item_outputs(key, full):
    out, cache, _, _ = full
    base = out/'smoke'
    df = pd.read_csv(base/f'{key}.csv')
    assert COLUMNS[key] <= set(df.columns) and len(df) > 0
    for suffix in ('.md', '.png', '.pdf'): assert (base/f'{key}{suffix}').stat().st_size > 0
    rec = json.loads((base/f'{key}.json').read_text())
    assert rec['item'] == key and rec['preset']['name'] == 'smoke' and rec['params']['preset'] == 'smoke'
    assert rec['wall_seconds'] > 0 and rec['torch'] and rec['device'] and 'git_commit' in rec
    assert rec['seeds'] == [0, 1] and rec['cache']['hits'] + rec['cache']['misses'] > 0
    assert 'paper' in (base/f'{key}.md').read_text() or key == 'theorem1'            # the side-by-side table
    if key != 'theorem1':                                                              # claims with their evidence
        vs = rec['results']['verdicts']                                                # fig3_1 has none when every curve is constant
        assert all(v['verdict'] in VERDICTS for v in vs) and (vs or key == 'fig3_1')
        assert 'verdict' in (base/f'{key}.md').read_text() or not vs
    assert (base/'runs'/f'{key}.ipynb').exists()                                       # the executed notebook is the log
    for c in set(ACC) & set(df.columns): assert df[c].between(0, 1).all()
    if 'shared' in df: assert df['shared'].between(0, 4).all()
    if 'seed' in df: assert set(df['seed']) == {0, 1}
    if key == 'fig3_1': assert df['lam'].between(0, 4).all() and len(df) == 2 * 9
    if key == 'table2': assert len(df) == 2 * 2 * 4 and set(df['source']) == {'hypernetwork', 'random deviation'}
    if key == 'table2': assert (df[df.source == 'random deviation']['shared'] == df[df.source == 'random deviation']['lam']).all()
    if key == 'fig3_2': assert (df['deviation'] == 4 - df['shared']).all() and set(df['lam']) == set(range(5))
    if key == 'table1': assert len(df) == 2 * 3 * 2 and set(df['warmup']) == {'on', 'off'}
    if key == 'table3':
        assert set(df['method']) == set(METHODS) and len(df) == 2 * len(METHODS)
        for c in ('test_accuracy', 'test_brier', 'test_ece', 'disagreement'): assert df[c].between(0, 1).all()
        assert (df['pairwise_kl'] >= 0).all() and (df['search_seconds'] >= 0).all()
        assert (df[df.method.isin(['random', 'random_nes'])]['search_seconds'] == 0).all()
        for c in ('clean', 'fgsm@2/255', 'fgsm@8/255', 'pgd3@2/255', 'pgd3@8/255'): assert df[c].between(0, 1).all()
        assert (df['attack_n'] == get_preset('smoke').attack_n).all() and (df['fgsm@8/255'] <= df['clean'] + 0.05).all()
        edn, edd = (df[df.method == m].sort_values('seed') for m in ('edgenes', 'edgenes_dash'))
        assert edn['member_ids'].tolist() == edd['member_ids'].tolist()       # EdgeNES's members, trained with DASH
        assert rec['results']['dash_settings'] == {'rho': 0.05, 'beta': 0.5, 'tau': 1.0, 'gamma': 0.0}
    if key == 'fig4_1':
        assert set(df['method']) == {'edgenes', 'darts_ens'} and df['accuracy'].between(0, 1).all()
        assert 0 <= rec['results']['ttest']['p'] <= 1 and rec['results']['ttest']['test'] == 'Welch'
    if key == 'theorem1':
        mc = df[df.source == 'monte_carlo']
        assert len(mc) == 9 and (mc['rel_diff'].abs() < 0.03).all() and (df['value'] >= 0).all()

def test_killed_batch_resumes(full):
    """The batch of the `full` fixture was SIGKILLed with some artifacts on disk: the re-run computed only the rest,
    then a warm run computes nothing. (That a resumed artifact equals an uninterrupted one, down to a training killed
    mid-way, is tested artifact by artifact in tests/test_store.py.)"""
    out, cache, p, done = full
    assert p.returncode == 0, p.stdout[-3000:]
    total = n_entries(cache)
    assert 0 < done < total, (done, total)                   # killed in the middle
    b = json.loads((out/'smoke'/'batches.jsonl').read_text().splitlines()[-1])
    assert b['artifacts']['computed'] == total - done        # the plan computed only the rest: nothing finished was recomputed
    assert b['artifacts']['failed'] == 0 and misses(out, list(PAPER)) == 0   # then the notebooks only read (a read-only store)
    keys = ['table2']                                        # one item is enough to show a warm run only re-renders
    r = batch(out, cache, '--only', ','.join(keys))          # warm: only re-renders
    assert r.returncode == 0 and misses(out, keys) == 0
