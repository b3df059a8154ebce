import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from benign.theory.gaussian_mixture import GaussianMixture
from benign.theory.invariance import invariance_from_embeddings, normalized_invariance


def test_invariant_map_scores_zero_and_collapse_is_not_rewarded():
    x = torch.randn(50, 6, dtype=torch.float64)
    noisy = lambda t: t + torch.randn_like(t)
    assert normalized_invariance(lambda t: torch.zeros(t.shape[0], 3, dtype=t.dtype), x, noisy).isnan().all()
    assert (
        normalized_invariance(lambda t: t[:, :3], x, lambda t: torch.cat([t[:, :3], noisy(t[:, 3:])], 1)) == 0
    ).all()


@given(st.integers(0, 1000))
def test_linear_encoder_on_the_toy_matches_the_closed_form(seed):
    """For q(x) = W x and the toy's augmentation, E|W a1 - W a2|^2 = 2 sigma^2 |W[:, d1:]|_F^2."""
    mx = GaussianMixture(C=3, d=8, d1=2, sigma=0.7)
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(8, 8, generator=g, dtype=torch.float64)
    x, _ = mx.points(seed, torch.arange(400), dtype=torch.float64)
    P = 300
    a = torch.stack([mx.augment(x, g) @ W.T for _ in range(P)])
    b = torch.stack([mx.augment(x, g) @ W.T for _ in range(P)])
    num = (a - b).pow(2).sum(-1).mean()
    expect = 2 * mx.sigma**2 * W[:, 2:].pow(2).sum()
    assert abs(num - expect) < 4 * expect * math.sqrt(2 / (P * 400)) * 3
    inv = invariance_from_embeddings(a, b, x @ W.T)
    q = x @ W.T
    denom = torch.stack([(q[i] - torch.cat([q[:i], q[i + 1 :]])).pow(2).sum(-1).mean() for i in range(5)])
    per_example_num = (a - b).pow(2).sum(-1).mean(0)[:5]
    torch.testing.assert_close(inv[:5], per_example_num / denom)
