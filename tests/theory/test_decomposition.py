"""Appendix B, checked by Hypothesis on float64 arrays of bounded magnitude (numpy and torch)."""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benign.theory.decomposition import (
    bias_by_class,
    bias_term,
    invariance_term,
    lemma_b1_sides,
    mean_output,
    supervised_mse,
)

floats = st.floats(-10, 10, allow_nan=False, width=64)


def tol(*xs):
    """Absolute tolerance scaling with the size and magnitude of the terms compared."""
    scale = 1.0 + sum(float(np.abs(np.asarray(x)).sum()) for x in xs)
    return 1e-12 * scale


@st.composite
def outputs_and_labels(draw, one_hot=True):
    n = draw(st.integers(1, 6))
    B = draw(st.integers(1, 5))
    C = draw(st.integers(1, 4))
    out = draw(arrays(np.float64, (n, B, C), elements=floats))
    if one_hot:
        cls = draw(arrays(np.int64, (n,), elements=st.integers(0, C - 1)))
        y = np.eye(C)[cls]
    else:
        y = draw(arrays(np.float64, (n, C), elements=floats))
    return out, y


@given(
    st.integers(1, 6).flatmap(
        lambda B: st.tuples(
            arrays(np.float64, (B, 3), elements=floats), arrays(np.float64, (3,), elements=floats)
        )
    )
)
def test_lemma_b1(xa):
    x, a = xa
    left, right = lemma_b1_sides(x, a)
    assert abs(left - right) <= tol(left, right)


@given(outputs_and_labels(one_hot=False))
def test_theorem_b2_mse_is_invariance_plus_bias(ol):
    out, y = ol
    mse, inv, bias = supervised_mse(out, y), invariance_term(out), bias_term(out, y)
    assert inv >= 0 and bias >= 0
    assert abs(mse - (inv + bias)) <= tol(mse, inv, bias)


@given(outputs_and_labels(one_hot=False))
def test_theorem_b2_on_torch_tensors(ol):
    out, y = (torch.as_tensor(a) for a in ol)
    mse, inv, bias = supervised_mse(out, y), invariance_term(out), bias_term(out, y)
    assert isinstance(mse, torch.Tensor)
    assert abs(float(mse - inv - bias)) <= tol(float(mse), float(inv), float(bias))


@given(outputs_and_labels(one_hot=True))
def test_bias_regrouped_by_class_sums_to_bias(ol):
    out, y = ol
    per_class = bias_by_class(out, y)
    assert per_class.shape == (y.shape[1],)
    assert (per_class >= 0).all()
    assert abs(per_class.sum() - bias_term(out, y)) <= tol(per_class, bias_term(out, y))
    # A class with no sample contributes nothing.
    assert (per_class[y.sum(0) == 0] == 0).all()


@given(st.integers(2, 8), st.integers(1, 4), st.data())
def test_zero_loss_one_class_per_sample_puts_means_at_distance_sqrt2(n, B, data):
    """With one class per sample (C >= n) and zero loss, |fbar_i - fbar_j|^2 = 2 (end of appendix B)."""
    C = data.draw(st.integers(n, n + 3))
    perm = data.draw(st.permutations(range(C)))[:n]
    y = np.eye(C)[perm]
    out = np.repeat(y[:, None, :], B, axis=1)  # a zero-loss model: every augmentation hits its label
    assert supervised_mse(out, y) == 0 and invariance_term(out) == 0 and bias_term(out, y) == 0
    fbar = mean_output(out)
    d2 = ((fbar[:, None] - fbar[None]) ** 2).sum(-1)
    off = ~np.eye(n, dtype=bool)
    np.testing.assert_allclose(d2[off], 2.0)


@given(outputs_and_labels(one_hot=False))
def test_invariance_vanishes_iff_augmentations_agree(ol):
    out, _ = ol
    same = np.repeat(out[:, :1], out.shape[1], axis=1)
    assert invariance_term(same) <= tol(same)
    spread = out.var(1).sum()
    # Inv equals the mean over samples of the total variance across augmentations.
    assert abs(invariance_term(out) - spread / out.shape[0]) <= tol(out)
