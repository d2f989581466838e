"""The library notebooks are numbered in dependency order: each imports (in any cell, exported or not) only modules
of lower-numbered notebooks, and the docs sidebar lists them in that order."""
import json, re
from pathlib import Path
import yaml

NBS = Path(__file__).resolve().parents[1]/'nbs'
IMPORT = re.compile(r'^\s*(?:from\s+(?:edgenes\.|\.)(\w+)\s+import|import\s+edgenes\.(\w+)|from\s+edgenes\s+import\s+([\w, ]+))', re.M)


def library_notebooks()->dict:
    "module name -> (number, notebook path) of every `nbs/NN_*.ipynb` with a `default_exp`."
    out = {}
    for nb in sorted(NBS.glob('[0-9][0-9]_*.ipynb')):
        src = ''.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code')
        m = re.search(r'#\|\s*default_exp\s+(\w+)', src)
        assert m, f'{nb.name} has no `#| default_exp`'
        out[m.group(1)] = (int(nb.name[:2]), nb)
    return out


def imported(nb:Path)->set:
    "edgenes modules a notebook imports, in any code cell."
    src = '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code')
    mods = set()
    for a, b, c in IMPORT.findall(src):
        mods |= {a or b} if (a or b) else {s.strip() for s in c.split(',')}
    return mods


def test_numbers_unique_and_modules_one_per_notebook():
    nbs = sorted(NBS.glob('[0-9][0-9]_*.ipynb'))
    nums = [n.name[:2] for n in nbs]
    assert len(nums) == len(set(nums)), f'two notebooks share a number: {nums}'
    assert len(library_notebooks()) == len(nbs)


def test_each_notebook_imports_only_lower_numbers():
    lib = library_notebooks(); late = []
    for mod, (num, nb) in lib.items():
        for m in sorted(imported(nb) - {mod}):
            if m in lib and lib[m][0] > num: late.append(f'{nb.name} imports {m} ({lib[m][1].name})')
    assert not late, 'a notebook imports a higher-numbered module (renumber, or move the cell):\n' + '\n'.join(late)


def test_the_order_check_catches_a_late_import(tmp_path):
    "The regular expression sees the three spellings of an import."
    nb = tmp_path/'x.ipynb'
    nb.write_text(json.dumps({'cells': [{'cell_type': 'code', 'source': ['from edgenes.plan import make_plan\n', 'import edgenes.store\n',
                                                                              'from edgenes import stats, tables\n', 'from .data import Splits']}]}))
    assert imported(nb) == {'plan', 'store', 'stats', 'tables', 'data'}


def test_sidebar_lists_the_library_in_number_order():
    def walk(items):
        for it in items:
            if isinstance(it, dict): yield from walk(it.get('contents', []))
            else: yield it
    side = [p for p in walk(yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents'])
            if re.match(r'\d\d_', p)]
    assert side == sorted(nb.name for _, nb in library_notebooks().values())
