"""Mixup: the paper's per-image lambda on x and y, the authors' one lambda per batch on x only."""

import torch
from hypothesis import given
from hypothesis import strategies as st

from benign.empirical import augment as A


@given(seed=st.integers(0, 2**16), n=st.integers(3, 12), alpha=st.sampled_from([1.0, 0.2, 2.0]))
def test_authors_mode_draws_one_lambda_per_batch(seed, n, alpha):
    x = torch.rand(n, 2, 3, 3, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.arange(n) % 3, 3).double()
    g = torch.Generator().manual_seed(seed)
    xm, ym = A.mixup(x, y, g, alpha=alpha, mode="x", batch_p=1.0)
    assert torch.equal(ym, y)  # the authors' code leaves the targets alone
    replay = torch.Generator().manual_seed(seed)
    torch.rand((), generator=replay)  # the batch's coin
    perm = torch.randperm(n, generator=replay)
    moved = perm != torch.arange(n)
    if moved.sum() < 2:
        return
    a, b = x.flatten(1), x[perm].flatten(1)
    lam = ((xm.flatten(1) - b) * (a - b)).sum(1) / ((a - b) ** 2).sum(1)
    lam = lam[moved]
    assert torch.allclose(lam, lam[0].expand_as(lam), atol=1e-6)
    assert 0.0 <= float(lam[0]) <= 1.0


def test_paper_mode_draws_one_lambda_per_image_and_mixes_targets_alike():
    n = 64
    x = torch.rand(n, 1, 4, 4, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.arange(n) % 4, 4).double()
    xm, ym = A.mixup(x, y, torch.Generator().manual_seed(0), mode="xy")
    replay = torch.Generator().manual_seed(0)
    perm = torch.randperm(n, generator=replay)
    lam = torch.rand(n, generator=replay).double()
    assert torch.allclose(xm, lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[perm])
    assert torch.allclose(ym, lam[:, None] * y + (1 - lam[:, None]) * y[perm])
    assert lam.std() > 0.1  # not one value for the batch


def test_authors_mode_skips_a_share_of_batches():
    x = torch.rand(4, 1, 2, 2)
    y = torch.eye(4)
    g = torch.Generator().manual_seed(0)
    mixed = sum(not torch.equal(A.mixup(x, y, g, mode="x", batch_p=0.8)[0], x) for _ in range(400))
    assert 280 < mixed < 360  # 320 expected, binomial sd 8
