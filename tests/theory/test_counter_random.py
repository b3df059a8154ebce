import torch

from benign.theory import counter_random as cr


def test_same_keys_same_draw_and_any_key_changes_it():
    a = cr.normal(3, 7, torch.arange(1000))
    assert torch.equal(a, cr.normal(3, 7, torch.arange(1000)))
    assert not torch.equal(a, cr.normal(4, 7, torch.arange(1000)))
    assert not torch.equal(a, cr.normal(3, 8, torch.arange(1000)))


def test_moments_of_normal_and_uniform():
    z = cr.normal(0, torch.arange(200_000), dtype=torch.float64)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs((z**4).mean() - 3) < 0.05
    u = cr.uniform(1, torch.arange(200_000), dtype=torch.float64)
    assert 0 < u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.005


def test_neighbouring_keys_are_uncorrelated():
    z = cr.normal(5, torch.arange(100_000), dtype=torch.float64)
    assert abs((z[1:] * z[:-1]).mean()) < 0.015
    z2 = cr.normal(5, torch.arange(100_000), 1, dtype=torch.float64)
    assert abs((z * z2).mean()) < 0.015


def test_integers_cover_the_range_uniformly():
    k = cr.integers(7, 2, torch.arange(70_000))
    counts = torch.bincount(k, minlength=7).double()
    assert k.min() == 0 and k.max() == 6
    assert (counts / 10_000 - 1).abs().max() < 0.05
