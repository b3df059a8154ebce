import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from benign.empirical.memscore.gradient_gram import (
    _weighted_gradient,
    gram_by_kernels,
    gram_by_materialising,
    gram_gradient_statistics,
    gram_layers,
    per_example_gram,
    per_example_sq_norms,
    statistics_from_gram,
    supports_gram,
)
from benign.empirical.memscore.models import TurnoverMLP, TurnoverVGG11
from benign.empirical.memscore.per_example_gradients import gradient_statistics, per_example_grads_flat
from benign.empirical.memscore.training import statistics_function
from benign.empirical.memscore.turnover_dropout import MaskBank, TurnoverDropout
from tests.empirical.memscore.test_gradients import _BNNet

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _assert_same_stats(fast, ref, tol=1e-9):
    # nan where the batch gradient vanishes (e.g. every ReLU dead), in both
    torch.testing.assert_close(fast.contribution, ref.contribution, rtol=tol, atol=tol, equal_nan=True)
    torch.testing.assert_close(fast.norm, ref.norm, rtol=tol, atol=tol)
    assert fast.batch_grad_norm == pytest.approx(ref.batch_grad_norm, rel=tol, abs=tol)
    assert fast.cosine.keys() == ref.cosine.keys()
    for k in ref.cosine:
        if ref.cosine[k] != ref.cosine[k]:
            assert fast.cosine[k] != fast.cosine[k], k  # both nan (fewer than two members)
        else:
            assert fast.cosine[k] == pytest.approx(ref.cosine[k], abs=tol), k


def _batch(model, n, shape, seed, scale):
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(n, *shape, generator=g, dtype=torch.float64)
    y = torch.randint(0, model_classes(model), (n,), generator=g)
    masks = MaskBank(model.masked_units, n, seed=seed).masks(torch.arange(n), dtype=torch.float64)
    return x, y, masks


def model_classes(model):
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    return last.out_features


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 9),
    hidden=st.integers(3, 6).map(lambda h: 2 * h),
    d_in=st.integers(1, 12),
    classes=st.integers(2, 4),
    seed=st.integers(0, 10_000),
    scale=st.floats(0.1, 10.0),
    member=st.lists(st.booleans(), min_size=9, max_size=9),
)
def test_gram_statistics_equal_the_vmap_statistics_mlp(n, hidden, d_in, classes, seed, scale, member):
    torch.manual_seed(seed)
    model = TurnoverMLP(d_in, classes, hidden=hidden).double()
    x, y, masks = _batch(model, n, (d_in,), seed, scale)
    groups = {
        "s": torch.tensor(member[:n]),
        "rest": ~torch.tensor(member[:n]),
        "all": torch.ones(n, dtype=torch.bool),
    }
    v = per_example_grads_flat(model, x, y, masks)
    torch.testing.assert_close(per_example_gram(model, x, y, masks), v @ v.T, rtol=1e-10, atol=1e-12)
    ref = gradient_statistics(model, x, y, masks, groups, chunk=4)
    _assert_same_stats(gram_gradient_statistics(model, x, y, masks, groups), ref)
    _assert_same_stats(statistics_from_gram(v @ v.T, groups), ref)


class _ConvNet(nn.Module):
    """Strided, dilated and padded convolutions (with and without bias), spatial turn-over dropout,
    and a linear layer applied to a sequence (positions > 1)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.d1 = TurnoverDropout(4, spatial=True)
        self.c2 = nn.Conv2d(4, 6, 2, dilation=2, bias=False)
        self.d2 = TurnoverDropout(6, spatial=True)
        self.seq = nn.Linear(6, 4)
        self.out = nn.Linear(4, 3, bias=False)
        self.masked_units = [4, 6]

    def forward(self, x, masks=None):
        h = self.d1(torch.tanh(self.c1(x)), None if masks is None else masks[0])
        h = self.d2(torch.relu(self.c2(h)), None if masks is None else masks[1])
        h = torch.tanh(self.seq(h.flatten(2).transpose(1, 2)))  # (n, positions, 4)
        return self.out(h.mean(1))


@pytest.mark.parametrize("kind", ["conv", "vgg"])
def test_gram_statistics_equal_the_vmap_statistics_conv(kind):
    torch.manual_seed(3)
    model = (_ConvNet() if kind == "conv" else TurnoverVGG11(1, 3, width=1 / 16)).double()
    n = 7
    x, y, masks = _batch(model, n, (2, 9, 9) if kind == "conv" else (1, 8, 8), 3, 1.0)
    groups = {
        "a": torch.tensor([1, 1, 0, 1, 0, 1, 0], dtype=torch.bool),
        "b": torch.tensor([0, 0, 1, 0, 1, 0, 1]) > 0,
    }
    v = per_example_grads_flat(model, x, y, masks)
    torch.testing.assert_close(per_example_gram(model, x, y, masks), v @ v.T, rtol=1e-10, atol=1e-14)
    _assert_same_stats(
        gram_gradient_statistics(model, x, y, masks, groups),
        gradient_statistics(model, x, y, masks, groups, chunk=3),
    )


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 5),
    p=st.integers(1, 6),
    i=st.integers(1, 7),
    o=st.integers(1, 7),
    seed=st.integers(0, 10_000),
    max_slice=st.integers(1, 60),
)
def test_layer_gram_both_ways_equal_explicit_outer_products(n, p, i, o, seed, max_slice):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, p, i, generator=g, dtype=torch.float64)
    d = torch.randn(n, p, o, generator=g, dtype=torch.float64)
    w = torch.randn(n, generator=g, dtype=torch.float64)
    v = torch.einsum("npo,npi->noi", d, a)  # V_i = sum_p d_ip a_ip^T
    flat = v.reshape(n, -1)
    torch.testing.assert_close(gram_by_kernels(a, d), flat @ flat.T)
    torch.testing.assert_close(gram_by_materialising(a, d, max_slice=max_slice), flat @ flat.T)
    torch.testing.assert_close(per_example_sq_norms(a, d), (flat**2).sum(1))
    torch.testing.assert_close(_weighted_gradient(a, d, w), torch.einsum("n,noi->oi", w, v))


class _Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x, masks=None):
        return self.fc(torch.tanh(self.fc(x)))


def test_unsupported_models_are_refused_and_auto_falls_back_to_vmap():
    bn = _BNNet().double().eval()
    assert not supports_gram(bn) and supports_gram(TurnoverMLP(4, 3, hidden=4))
    with pytest.raises(ValueError, match="BatchNorm1d"):
        gram_layers(bn)
    x, y = torch.randn(4, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    stats = statistics_function(bn, "auto", chunk=2)(bn, x, y, None, {"all": torch.ones(4, dtype=torch.bool)})
    v = per_example_grads_flat(bn, x, y)
    torch.testing.assert_close(stats.norm, v.norm(dim=1))
    assert statistics_function(TurnoverMLP(4, 3, hidden=4), "auto", chunk=2) is gram_gradient_statistics
    with pytest.raises(ValueError, match="called twice"):
        per_example_gram(_Shared().double(), torch.randn(2, 3, dtype=torch.float64), torch.tensor([0, 1]))
