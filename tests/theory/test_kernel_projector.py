import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benign.theory.kernel_projector import (
    balanced_prototype_labels,
    hard_projector,
    kernel_projector,
    projector_weights,
    squared_distances,
)

floats = st.floats(-100, 100, allow_nan=False, width=64)


@st.composite
def points_and_prototypes(draw):
    m, K, D, C = (
        draw(st.integers(1, 6)),
        draw(st.integers(1, 7)),
        draw(st.integers(1, 5)),
        draw(st.integers(1, 4)),
    )
    h = torch.as_tensor(draw(arrays(np.float64, (m, D), elements=floats)))
    v = torch.as_tensor(draw(arrays(np.float64, (K, D), elements=floats)))
    labels = torch.nn.functional.one_hot(
        torch.as_tensor(draw(arrays(np.int64, (K,), elements=st.integers(0, C - 1)))), C
    ).double()
    # Put some points exactly on prototypes: the singular case of 1/|h - v|.
    on = draw(st.lists(st.tuples(st.integers(0, m - 1), st.integers(0, K - 1)), max_size=3))
    for i, k in on:
        h[i] = v[k]
    return h, v, labels


@given(points_and_prototypes())
def test_weights_are_a_probability_vector_and_output_in_simplex(hvl):
    h, v, labels = hvl
    w = projector_weights(h, v)
    assert torch.isfinite(w).all()
    assert (w >= 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(h.shape[0], dtype=h.dtype))
    g = kernel_projector(h, v, labels)
    assert (g >= -1e-15).all() and torch.allclose(g.sum(-1), torch.ones(h.shape[0], dtype=h.dtype))


@given(points_and_prototypes())
def test_gradients_finite_even_on_a_prototype(hvl):
    h, v, labels = hvl
    h = h.clone().requires_grad_(True)
    v = v.clone().requires_grad_(True)
    kernel_projector(h, v, labels).pow(2).sum().backward()
    assert torch.isfinite(h.grad).all() and torch.isfinite(v.grad).all()


@given(points_and_prototypes())
def test_weights_follow_inverse_distance(hvl):
    h, v, labels = hvl
    d = squared_distances(h, v).sqrt()
    far = (d > 1e-3).all(-1)  # away from prototypes the formula is direct
    if far.any():
        inv = 1 / d[far]
        torch.testing.assert_close(
            projector_weights(h, v)[far], inv / inv.sum(-1, keepdim=True), rtol=1e-9, atol=1e-12
        )


def test_point_on_a_prototype_gets_its_label():
    v = torch.tensor([[0.0, 0.0], [3.0, 4.0], [-1.0, 2.0]])
    labels = torch.eye(3)
    g = kernel_projector(v.clone(), v, labels)
    torch.testing.assert_close(g, labels, atol=1e-6, rtol=0)
    torch.testing.assert_close(hard_projector(v + 0.1, v, labels), labels)


def test_soft_projector_tends_to_hard_limit_near_a_prototype():
    torch.manual_seed(0)
    v = torch.randn(5, 3, dtype=torch.float64)
    labels = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 0, 1]), 3).double()
    h = v[2] + 1e-9 * torch.randn(3, dtype=torch.float64)
    torch.testing.assert_close(
        kernel_projector(h[None], v, labels), hard_projector(h[None], v, labels), atol=1e-7, rtol=0
    )


@given(st.integers(1, 6), st.integers(0, 30), st.integers(0, 1000))
def test_balanced_labels_use_every_class(C, extra, seed):
    K = C + extra
    L = balanced_prototype_labels(K, C, seed)
    counts = L.sum(0)
    assert L.shape == (K, C) and (L.sum(1) == 1).all()
    assert counts.min() >= K // C and counts.max() <= -(-K // C)


@given(st.integers(2, 8), st.integers(0, 1000))
def test_fewer_prototypes_than_classes_get_distinct_classes(C, seed):
    L = balanced_prototype_labels(C - 1, C, seed)
    assert L.shape == (C - 1, C) and L.sum(0).max() == 1
