import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benign.empirical.memscore.turnover_dropout import KEEP_SCALE, MaskBank, TurnoverDropout, unit_hashes
from benign.theory.counter_random import hash_keys


def _rows(bank, n):
    return torch.cat(bank.bool_masks(torch.arange(n)), dim=1)


def test_masks_are_deterministic_and_seeded():
    a, b, c = MaskBank([32, 8], 300, seed=5), MaskBank([32, 8], 300, seed=5), MaskBank([32, 8], 300, seed=6)
    assert torch.equal(_rows(a, 300), _rows(b, 300))
    assert not torch.equal(_rows(a, 300), _rows(c, 300))
    # a mask depends on (seed, example) only, not on the size of the data set
    assert torch.equal(_rows(MaskBank([32, 8], 50, seed=5), 50), _rows(a, 50))


@settings(max_examples=25, deadline=None)
@given(
    units=st.lists(st.integers(1, 40).map(lambda k: 2 * k), min_size=1, max_size=3),
    n=st.integers(1, 60),
    seed=st.integers(0, 2**31),
)
def test_exactly_half_of_every_layer_is_kept(units, n, seed):
    if math.log2(n) > sum(math.log2(math.comb(u, u // 2)) for u in units):
        return
    bank = MaskBank(units, n, seed=seed)
    for u, m in zip(units, bank.bool_masks(torch.arange(n))):
        assert m.shape == (n, u)
        assert (m.sum(1) == u // 2).all()
    seen = bank.masks(torch.arange(n))
    muted = bank.masks(torch.arange(n), muted=True)
    for s, m in zip(seen, muted):  # muted is the complement, values in {0, KEEP_SCALE}
        assert torch.equal(s + m, torch.full_like(s, KEEP_SCALE))


def test_collisions_are_resolved_deterministically():
    # C(12, 6) = 924 masks for 400 examples: ~80 birthday collisions must be redrawn
    bank = MaskBank([12], 400, seed=1)
    rows = _rows(bank, 400)
    assert len({tuple(r.tolist()) for r in rows}) == 400
    assert bank.n_redrawn > 10
    assert torch.equal(bank.attempts, MaskBank([12], 400, seed=1).attempts)
    # the lower index keeps its first draw
    first = bank.attempts == 0
    assert first[0]


def test_whole_mask_space_and_impossible_requests():
    bank = MaskBank([4], 6, seed=3)  # exactly C(4, 2) = 6 distinct masks exist
    assert len({tuple(r.tolist()) for r in _rows(bank, 6)}) == 6
    with pytest.raises(ValueError, match="distinct"):
        MaskBank([4], 7)
    with pytest.raises(ValueError, match="even"):
        MaskBank([5], 3)
    with pytest.raises(IndexError):
        bank.masks(torch.tensor([6]))


def test_mlp_sized_bank_is_distinct():
    bank = MaskBank([4096], 3000, seed=0)
    rows = bank.packed[0].numpy()
    assert len({r.tobytes() for r in rows}) == 3000


def test_unit_hashes_equal_counter_random():
    ex, att = torch.tensor([0, 5, 2**31 + 7]), torch.tensor([0, 3, 1])
    ref = hash_keys(9, 2, ex[:, None], att[:, None], torch.arange(50)[None, :])
    assert torch.equal(torch.from_numpy(unit_hashes(9, 2, ex, att, 50).astype("int64")), ref)


def test_layer_masks_neurons_and_feature_maps():
    m = torch.tensor([[2.0, 0.0, 2.0, 0.0]])
    lin = TurnoverDropout(4)
    assert torch.equal(lin(torch.ones(1, 4), m), m)
    conv = TurnoverDropout(4, spatial=True)
    y = conv(torch.ones(1, 4, 3, 3), m)
    assert torch.equal(y[0, :, 1, 2], m[0]) and torch.equal(y[0, 1], torch.zeros(3, 3))
    assert torch.equal(lin(torch.ones(2, 4), None), torch.ones(2, 4))
    with pytest.raises(ValueError):
        lin(torch.ones(1, 6), m)
