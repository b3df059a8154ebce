import pytest
import torch

from benign.empirical.labels import make_labels, parse_labels


def test_label_kinds_and_bad_names():
    clean = torch.arange(1000) % 10
    assert torch.equal(make_labels(clean, "clean", 10, 0), clean)
    r = make_labels(clean, "random", 10, 0)
    assert torch.equal(r, make_labels(clean, "random", 10, 0)) and not torch.equal(
        r, make_labels(clean, "random", 10, 1)
    )
    assert (r == clean).float().mean() < 0.2
    n = make_labels(clean, "noise:0.3", 10, 0)
    changed_or_kept = (n != clean).float().mean()
    assert 0.2 < changed_or_kept < 0.3  # 30% relabelled, a tenth of those land on the true class
    c = make_labels(clean, "classes:37", 10, 0)
    assert c.max() < 37 and len(c.unique()) == 37
    assert torch.equal(make_labels(clean, "per-sample", 10, 0), torch.arange(1000))
    for bad in ("noise:1.5", "classes:0", "shuffled"):
        with pytest.raises(ValueError):
            parse_labels(bad)
