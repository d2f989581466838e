"""ECE against torchmetrics (a test-only dependency), and where a confidence of exactly 1.0 goes."""
import torch
from torchmetrics.functional.classification import multiclass_calibration_error
from edgenes.metrics import ece


def test_ece_matches_torchmetrics():
    g = torch.Generator().manual_seed(0)
    for n_classes, n, scale in ((10, 2000, 1.), (10, 500, 4.), (3, 1000, 0.5), (100, 3000, 2.)):
        probs = (torch.randn(n, n_classes, generator=g) * scale).softmax(-1)
        y = torch.randint(0, n_classes, (n,), generator=g)
        assert probs.max() < 1.0                                       # the comparison is on inputs without confidence 1.0
        for bins in (10, 15):
            ours = ece(probs, y, bins)
            theirs = multiclass_calibration_error(probs, y, num_classes=n_classes, n_bins=bins, norm='l1').item()
            assert abs(ours - theirs) < 1e-6, (n_classes, n, scale, bins, ours, theirs)


def test_confidence_one_lands_in_the_last_bin():
    "A wrong prediction with confidence 1.0 shares the last bin with a right one at 0.95."
    probs = torch.tensor([[1.0, 0.0], [0.95, 0.05]])
    y = torch.tensor([1, 0])
    # together in bin 14 of 15: |accuracy 0.5 - confidence 0.975| = 0.475
    # (in a bin of its own it would be (1 + 0.05) / 2 = 0.525; dropped, 0.025)
    assert abs(ece(probs, y, 15) - 0.475) < 1e-6
    assert abs(ece(torch.tensor([[1.0, 0.0]]), torch.tensor([0]), 15)) < 1e-9   # sure and right: calibrated
