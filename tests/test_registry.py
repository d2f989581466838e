"""Registries: a data set and a method registered in a plugin module ($EDGENES_PLUGINS) exist in every new process
(papermill kernels, the CLI), by name; unknown names list the valid ones.
(A plugin module that can't be imported is tested in nbs/00_config.ipynb, `load_plugins`.)"""
import os, subprocess, sys, textwrap
import pytest
from edgenes.data import load_dataset, dataset_names
from edgenes.methods import METHODS, method_names

PLUGIN = textwrap.dedent('''
    import numpy as np
    from edgenes.data import from_arrays, register_dataset
    from edgenes.methods import register_method, Candidates
    def tiny(root, download):
        g = np.random.default_rng(0)
        return from_arrays('tiny', g.integers(0, 255, (20, 8, 8), dtype=np.uint8), np.arange(20) % 2,
                           g.integers(0, 255, (6, 8, 8), dtype=np.uint8), np.arange(6) % 2)
    register_dataset('tiny', tiny)
    register_method('alpha_star_twice', 'alpha* twice', lambda exp, seed, n, N: Candidates([exp.alpha_star(seed).arch] * 2, [seed, seed + 1], 0.),
                    select=False, dedup=False)
''')

CHECK = textwrap.dedent('''
    from edgenes.data import load_dataset, dataset_names
    from edgenes.methods import method_names, METHODS
    from edgenes.tables import method_display
    d = load_dataset('tiny')                     # first lookup of an unknown name imports the plugins
    assert d.name == 'tiny' and d.shape == (1, 8, 8) and d.n_classes == 2, d
    assert 'tiny' in dataset_names() and method_names()[-1] == 'alpha_star_twice'
    assert method_display('alpha_star_twice') == 'alpha* twice' and not METHODS['alpha_star_twice'].select
    print('ok')
''')

def test_plugin_registers_in_a_new_process(tmp_path):
    (tmp_path/'my_plugin.py').write_text(PLUGIN)
    env = {**os.environ, 'EDGENES_PLUGINS': 'my_plugin', 'OMP_NUM_THREADS': '1',
           'PYTHONPATH': os.pathsep.join([str(tmp_path), *filter(None, [os.environ.get('PYTHONPATH')])])}
    p = subprocess.run([sys.executable, '-c', CHECK], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == 'ok', p.stderr[-2000:]

def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match='valid datasets: embedded, fashion_mnist, cifar10, cifar100'): load_dataset('imagenet')
    from edgenes.tables import method_display
    with pytest.raises(ValueError, match='valid: darts, random, darts_ens'): method_display('nes')
    assert dataset_names()[:4] == ['embedded', 'fashion_mnist', 'cifar10', 'cifar100']
    assert method_names(paper=True) == ['darts', 'random', 'darts_ens', 'random_nes', 'randomd_nes', 'edgenes']
    assert all(METHODS[k].paper for k in method_names(paper=True))
