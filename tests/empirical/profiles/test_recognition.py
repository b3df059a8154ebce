"""SimCLR recognition in both directions (the authors' scoring) against a brute-force arg-max."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from benign.empirical.profiles.recognition import fixed_profile, profile, recognise_pairs, views_scored


def brute_force(z1: np.ndarray, z2: np.ndarray, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Per image: (view 1 finds view 2, view 2 finds view 1), each an arg-max of cosine similarity
    over the 2b - 1 other views of its chunk, computed one row at a time."""
    k = len(z1)
    fwd, bwd = np.zeros(k, bool), np.zeros(k, bool)
    for s in range(0, k, batch):
        a, b = z1[s : s + batch], z2[s : s + batch]
        views = np.concatenate([a, b])
        views = views / np.linalg.norm(views, axis=1, keepdims=True)
        n = len(a)
        for row in range(2 * n):
            sims = [views[row] @ views[j] if j != row else -np.inf for j in range(2 * n)]
            best = int(np.argmax(sims))
            if row < n:
                fwd[s + row] = best == row + n
            else:
                bwd[s + row - n] = best == row - n
    return fwd, bwd


@given(
    seed=st.integers(0, 2**16),
    k=st.integers(2, 20),
    dim=st.integers(2, 6),
    batch=st.integers(2, 8),
    noise=st.floats(0.0, 2.0),
)
def test_both_directions_equal_brute_force(seed, k, dim, batch, noise):
    rng = np.random.default_rng(seed)
    z1 = rng.normal(size=(k, dim))
    z2 = z1 + noise * rng.normal(size=(k, dim))  # partners close for small noise, unrelated for large
    fwd, bwd = brute_force(z1, z2, batch)
    t1, t2 = torch.from_numpy(z1), torch.from_numpy(z2)
    assert recognise_pairs(t1, t2, batch, "one").numpy().tolist() == fwd.astype(int).tolist()
    assert recognise_pairs(t1, t2, batch, "both").numpy().tolist() == (fwd.astype(int) + bwd).tolist()


def test_the_two_directions_can_disagree():
    # views at 0, 53 (image 0 and 1, view 1) and 37, 169 degrees (view 2): image 0's view 1 finds its
    # partner, its view 2 does not (image 1's view 1 is nearer); image 1 the other way round
    z1 = torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64)
    z2 = torch.tensor([[0.8, 0.6], [-1.0, 0.2]], dtype=torch.float64)
    assert recognise_pairs(z1, z2, 2, "one").tolist() == [1, 0]
    assert recognise_pairs(z1, z2, 2, "both").tolist() == [1, 1]
    fwd, bwd = brute_force(z1.numpy(), z2.numpy(), 2)
    assert fwd.tolist() == [True, False] and bwd.tolist() == [False, True]


def test_profiles_divide_by_the_views_scored():
    r = np.array([[[2, 0, 1]], [[1, 1, 0]]])  # 2 networks x 1 augmentation x 3 images, 2 views each
    assert (
        views_scored(True, "both") == 2
        and views_scored(True, "one") == 1
        and views_scored(False, "both") == 1
    )
    assert profile(r, views=2).tolist() == [0.75, 0.25, 0.25]
    assert fixed_profile(r, views=2).tolist() == [[0.75, 0.25, 0.25]]


def test_unknown_direction_is_refused():
    with pytest.raises(ValueError, match="directions"):
        recognise_pairs(torch.eye(2), torch.eye(2), 2, "sideways")
