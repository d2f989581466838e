"Shared fixtures: a tiny split of the embedded data, fast enough for many searches."
import pytest
from edgenes.data import load_embedded, make_splits

@pytest.fixture(scope='session')
def embedded():
    return load_embedded()

@pytest.fixture(scope='session')
def tiny_splits(embedded):
    "300 training images: 135 + 135 for the two halves, 30 held out."
    return make_splits(embedded, seed=0, valid_frac=0.1, n_train=300)

TINY = dict(C=4, search_epochs=3, search_bs=32, a_lr=3e-3)


def pytest_configure(config):
    config.addinivalue_line('markers', 'kernels: compares a fast path with a plain one; tests/test_kernels.py reruns these '
                                       'under every CPU kernel path the machine supports (ATEN_CPU_CAPABILITY)')


FIRST = ('test_paper.py',)   # the longest test file (the smoke batch): started first, it runs beside everything else


def pytest_collection_modifyitems(config, items):
    "Start the longest test file first, so that with pytest-xdist (`make test`) it does not finish alone at the end."
    items.sort(key=lambda it: it.path.name not in FIRST)
