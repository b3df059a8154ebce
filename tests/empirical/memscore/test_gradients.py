import itertools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn

from benign.empirical.memscore.experiment import RunConfig
from benign.empirical.memscore.models import TurnoverMLP, TurnoverVGG11
from benign.empirical.memscore.per_example_gradients import (
    batch_gradient,
    contributions,
    gradient_statistics,
    mean_pairwise_cosine,
    per_example_grads,
    per_example_grads_flat,
)
from benign.empirical.memscore.training import train_turnover
from benign.empirical.memscore.turnover_dropout import MaskBank


def _setup(model_kind="mlp", n=6, seed=0):
    torch.manual_seed(seed)
    if model_kind == "mlp":
        model = TurnoverMLP(16, 3, hidden=12).double()
        x = torch.randn(n, 1, 4, 4, dtype=torch.float64)
    else:
        model = TurnoverVGG11(1, 3, width=1 / 16).double()
        x = torch.randn(n, 1, 8, 8, dtype=torch.float64)
    y = torch.randint(0, 3, (n,))
    bank = MaskBank(model.masked_units, n, seed=seed)
    masks = bank.masks(torch.arange(n), dtype=torch.float64)
    return model, bank, x, y, masks


def _roles(model):
    """parameter name -> (masked layer of its output units or None, masked layer of its inputs or None)."""
    roles, layer = {}, 0
    for name, _p in model.named_parameters():
        if name.startswith(("fc2", "classifier")):
            roles[name] = (None, len(model.masked_units) - 1)
        elif name.endswith("bias"):
            roles[name] = (layer - 1, None)
        else:
            roles[name] = (layer, layer - 1 if layer > 0 else None)
            layer += 1
    return roles


@pytest.mark.parametrize("kind", ["mlp", "vgg"])
def test_gradient_never_reaches_the_muted_half(kind):
    model, bank, x, y, masks = _setup(kind, n=5)
    roles = _roles(model)
    assert len(roles) == (3 if kind == "mlp" else 17)
    for s, grads in per_example_grads(model, x, y, masks, chunk=2):
        for j in range(next(iter(grads.values())).shape[0]):
            keep = [m[0] for m in bank.bool_masks(torch.tensor([s + j]))]
            for name, (out_l, in_l) in roles.items():
                g = grads[name][j]
                reach = torch.ones(g.shape[:2] if g.dim() > 1 else g.shape, dtype=torch.bool)
                if out_l is not None:
                    reach &= keep[out_l].reshape(-1, *([1] * (reach.dim() - 1)))
                if in_l is not None:
                    reach &= keep[in_l].reshape(1, -1)
                reach = reach.reshape(*reach.shape, *([1] * (g.dim() - reach.dim()))).expand_as(g)
                assert (g[~reach] == 0).all(), name  # nothing outside the seen sub-network
                assert (g[reach] != 0).any(), name  # and the seen sub-network does learn


def test_training_on_one_example_leaves_its_muted_half_untouched():
    torch.manual_seed(0)
    n = 8
    model = TurnoverMLP(16, 3, hidden=10)
    bank = MaskBank(model.masked_units, n, seed=2)
    images = torch.randint(0, 256, (n, 1, 4, 4), dtype=torch.uint8)
    labels = torch.randint(0, 3, (n,))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    only = torch.zeros(n, dtype=torch.bool)
    only[3] = True
    train_turnover(
        model,
        bank,
        images,
        labels,
        (0.5,),
        (0.25,),
        RunConfig(epochs=2, lr=0.5, momentum=0.9),
        train_mask=only,
    )
    muted = ~bank.bool_masks(torch.tensor([3]))[0][0]
    after = model.state_dict()
    assert torch.equal(after["fc1.weight"][muted], before["fc1.weight"][muted])
    assert torch.equal(after["fc1.bias"][muted], before["fc1.bias"][muted])
    assert torch.equal(after["fc2.weight"][:, muted], before["fc2.weight"][:, muted])
    assert not torch.equal(after["fc1.weight"][~muted], before["fc1.weight"][~muted])


@pytest.mark.parametrize("kind", ["mlp", "vgg"])
def test_per_example_gradients_equal_a_loop(kind):
    model, bank, x, y, masks = _setup(kind, n=5)
    v = per_example_grads_flat(model, x, y, masks, chunk=2)
    params = list(model.parameters())
    for i in range(5):
        loss = F.cross_entropy(model(x[i : i + 1], [m[i : i + 1] for m in masks]), y[i : i + 1])
        ref = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])
        torch.testing.assert_close(v[i], ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(batch_gradient(model, x, y, masks), v.mean(0), rtol=1e-10, atol=1e-12)


def _direct_cosine(v):
    n = v.shape[0]
    vals = [float(v[i] @ v[j] / (v[i].norm() * v[j].norm())) for i, j in itertools.permutations(range(n), 2)]
    return sum(vals) / len(vals)


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        "float64",
        st.tuples(st.integers(2, 7), st.integers(1, 6)),
        elements=st.floats(-10, 10, allow_nan=False).filter(lambda t: abs(t) > 1e-3),
    )
)
def test_eq3_identity_matches_pairwise_mean(v):
    v = torch.from_numpy(v)
    assert mean_pairwise_cosine(v) == pytest.approx(_direct_cosine(v), abs=1e-9)


def test_eq3_and_eq4_statistics_of_a_batch():
    model, bank, x, y, masks = _setup("mlp", n=9, seed=4)
    groups = {
        "a": torch.tensor([1, 1, 0, 1, 0, 0, 1, 0, 0], dtype=torch.bool),
        "b": torch.tensor([0, 0, 1, 0, 1, 1, 0, 0, 0], dtype=torch.bool),
        "one": torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 1], dtype=torch.bool),
    }
    st_ = gradient_statistics(model, x, y, masks, groups, chunk=4)
    v = per_example_grads_flat(model, x, y, masks)
    g = v.mean(0)
    for i in range(9):
        assert float(st_.contribution[i]) == pytest.approx(float(v[i] @ g / g.norm()), rel=1e-9)
    torch.testing.assert_close(contributions(v, g), st_.contribution)
    assert st_.cosine["a"] == pytest.approx(_direct_cosine(v[groups["a"]]), abs=1e-10)
    assert st_.cosine["b"] == pytest.approx(_direct_cosine(v[groups["b"]]), abs=1e-10)
    assert st_.cosine["one"] != st_.cosine["one"]  # nan: no pair
    # the mean contribution of all examples is ||g|| (projection of the mean on itself)
    assert float(st_.contribution.mean()) == pytest.approx(float(g.norm()), rel=1e-9)


class _BNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x, masks=None):
        return self.bn(self.fc(x))


def test_batch_norm_needs_eval_mode():
    net = _BNNet().double()
    x, y = torch.randn(4, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match="batch norm"):
        next(per_example_grads(net, x, y))
    net.eval()
    v = per_example_grads_flat(net, x, y)
    loss = F.cross_entropy(net(x[:1]), y[:1])
    ref = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(net.parameters()))])
    torch.testing.assert_close(v[0], ref)
