"Data: the embedded default, missing data sets, deterministic splits."
import hashlib
import pytest, torch
from edgenes.data import EMBEDDED, load_dataset, load_cifar, load_fashion_mnist, make_splits, Batches, DEBIAN_FMNIST

def test_embedded_file_is_the_documented_one():
    readme = (EMBEDDED.parent/'README.md').read_text()
    assert hashlib.sha256(EMBEDDED.read_bytes()).hexdigest() in readme
    assert EMBEDDED.stat().st_size < 5e6

def test_embedded_is_stratified(embedded):
    assert torch.bincount(embedded.y_train).tolist() == [600]*10
    assert embedded.x_train.dtype == torch.uint8 and embedded.shape == (1, 28, 28)

@pytest.mark.parametrize('name, hint', [('cifar10', 'torchvision.datasets.CIFAR10(root, download=True)'),
                                        ('cifar100', 'torchvision.datasets.CIFAR100(root, download=True)')])
def test_missing_cifar_says_how_to_get_it(tmp_path, name, hint):
    with pytest.raises(FileNotFoundError, match=hint.replace('(', r'\(').replace(')', r'\)')): load_cifar(name, tmp_path)
    with pytest.raises(FileNotFoundError, match="offline, copy the folder"): load_dataset(name, tmp_path)

def test_missing_fashion_mnist_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='apt-get install dataset-fashion-mnist'): load_fashion_mnist(tmp_path)

def test_unknown_dataset():
    with pytest.raises(ValueError, match='valid datasets: embedded, fashion_mnist, cifar10, cifar100'): load_dataset('imagenet')

@pytest.mark.skipif(not DEBIAN_FMNIST.exists(), reason="Debian package dataset-fashion-mnist not installed (make test installs it when run as root; else apt-get install dataset-fashion-mnist)")
def test_full_fashion_mnist_contains_the_embedded_subset(embedded):
    import numpy as np
    full = load_fashion_mnist()
    assert len(full.x_train) == 60_000 and len(full.x_test) == 10_000
    idx = torch.as_tensor(np.load(EMBEDDED)['train_index']).long()
    assert torch.equal(full.x_train[idx], embedded.x_train)

def test_splits_are_disjoint_and_seeded(embedded):
    a, b = make_splits(embedded, seed=3), make_splits(embedded, seed=3)
    assert torch.equal(a.w, b.w) and torch.equal(a.a, b.a) and torch.equal(a.valid, b.valid)
    assert len(set(a.w.tolist()) & set(a.a.tolist())) == 0 and len(set(a.train.tolist()) & set(a.valid.tolist())) == 0
    assert len(a.train) + len(a.valid) == 6000
    with pytest.raises(ValueError, match='valid_frac'): make_splits(embedded, valid_frac=1.5)

def test_batches_depend_only_on_seed_and_epoch(embedded, tiny_splits):
    def first(epoch):
        b = Batches(embedded, tiny_splits.w, 16, shuffle=True, augment=True, seed=5); b.set_epoch(epoch)
        return next(iter(b))
    assert torch.equal(first(2)[0], first(2)[0]) and not torch.equal(first(1)[0], first(2)[0])
