import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benign.empirical.profiles.recognition import fixed_profile, profile, recognise_classes, recognise_pairs
from benign.empirical.profiles.simclr import nt_xent

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def direct_nt_xent(z1, z2, tau):
    """Row by row, float64: -log exp(s(i, partner)/tau) / sum_{k != i} exp(s(i, k)/tau)."""
    views = [v / v.norm() for v in torch.cat([z1, z2])]
    n, b = len(views), z1.shape[0]
    total = 0.0
    for i in range(n):
        partner = i + b if i < b else i - b
        sims = {k: float(views[i] @ views[k]) / tau for k in range(n) if k != i}
        denom = sum(math.exp(s) for s in sims.values())
        total += -(sims[partner] - math.log(denom))
    return total / n


@pytest.mark.parametrize("batch,dim,tau", [(2, 3, 0.07), (5, 8, 0.07), (7, 4, 0.5)])
def test_nt_xent_matches_a_direct_computation(batch, dim, tau):
    g = torch.Generator().manual_seed(batch * 31 + dim)
    z1 = torch.randn(batch, dim, generator=g, dtype=torch.float64)
    z2 = torch.randn(batch, dim, generator=g, dtype=torch.float64)
    assert float(nt_xent(z1, z2, tau)) == pytest.approx(direct_nt_xent(z1, z2, tau), rel=1e-10)


@settings(max_examples=25)
@given(st.integers(2, 6), st.integers(2, 5), st.floats(0.05, 2.0, width=64), st.integers(0, 2**16))
def test_nt_xent_property(batch, dim, tau, seed):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(batch, dim, generator=g, dtype=torch.float64)
    z2 = torch.randn(batch, dim, generator=g, dtype=torch.float64)
    assert float(nt_xent(z1, z2, tau)) == pytest.approx(direct_nt_xent(z1, z2, tau), rel=1e-9, abs=1e-12)


def test_nt_xent_is_low_for_matching_views():
    z = torch.eye(4, dtype=torch.float64)
    assert float(nt_xent(z, z, 0.07)) < 1e-5
    assert float(nt_xent(z, z.roll(1, 0), 0.07)) > 5


def test_recognise_pairs_hand_made():
    z1 = torch.eye(4)
    z2 = torch.eye(4).clone()
    z2[[1, 2]] = z2[[2, 1]]  # views of images 1 and 2 swapped: their anchors find the wrong partner
    assert recognise_pairs(z1, z2, batch_size=4, directions="one").tolist() == [1, 0, 0, 1]
    assert recognise_pairs(z1, z2, batch_size=4).tolist() == [2, 0, 0, 2]
    # candidates come from the anchor's own chunk only: with chunks of 2, image 0 sees the views
    # of images 0 and 1, so a copy of its partner in image 2's slot cannot fool it
    z2 = torch.eye(4).clone()
    z2[2] = z2[0]
    assert recognise_pairs(torch.eye(4), z2, batch_size=2, directions="one").tolist() == [1, 1, 0, 1]


def test_recognise_classes_and_profiles():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert recognise_classes(logits, torch.tensor([0, 0, 0])).tolist() == [True, False, True]
    # (seed, augmentation, example): 2 networks x 2 augmentations x 3 examples
    r = torch.tensor([[[1, 0, 1], [1, 0, 0]], [[1, 1, 0], [0, 0, 0]]])
    assert profile(r).tolist() == [0.75, 0.25, 0.25]
    assert fixed_profile(r).tolist() == [[1.0, 0.5, 0.5], [0.5, 0.0, 0.0]]
