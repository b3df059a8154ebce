import pytest
import torch
import torch.nn.functional as F

from benign.empirical.memscore.corruption import corrupt_labels
from benign.empirical.memscore.models import TurnoverMLP, turnover_network
from benign.empirical.memscore.scores import evaluate_halves, influence, split_by_score, to_float
from benign.empirical.memscore.turnover_dropout import MaskBank

MEAN, STD = (0.5,), (0.25,)


def test_corruption_changes_exactly_k_labels_deterministically():
    labels = torch.arange(1000) % 10
    new, corrupted = corrupt_labels(labels, 300, 10, seed=1)
    assert int(corrupted.sum()) == 300
    assert (new[corrupted] != labels[corrupted]).all() and torch.equal(new[~corrupted], labels[~corrupted])
    assert ((new >= 0) & (new < 10)).all()
    new2, corrupted2 = corrupt_labels(labels, 300, 10, seed=1)
    assert torch.equal(new, new2) and torch.equal(corrupted, corrupted2)
    _, other = corrupt_labels(labels, 300, 10, seed=2)
    assert not torch.equal(other, corrupted)
    # the random labels cover the other classes roughly uniformly
    counts = torch.bincount((new[corrupted] - labels[corrupted]) % 10, minlength=10)
    assert counts[0] == 0 and counts[1:].min() > 15
    same, _ = corrupt_labels(labels, 300, 10, seed=1, allow_true=True)
    assert 10 < int((same == labels).sum()) - 700 < 60  # ~1/10 of 300 keep their label
    with pytest.raises(ValueError):
        corrupt_labels(labels, 1001, 10)


def test_split_by_score():
    s = torch.tensor([0.5, -1.0, 3.0, 2.0, 0.0, 1.0])
    easy, hard = split_by_score(s, 1 / 3)
    assert easy.tolist() == [False, True, False, False, True, False]
    assert hard.tolist() == [False, False, True, True, False, False]
    with pytest.raises(ValueError):
        split_by_score(s, 0.7)


def _trained_like():
    torch.manual_seed(1)
    model = TurnoverMLP(16, 3, hidden=8)
    bank = MaskBank(model.masked_units, 10, seed=0)
    images = torch.randint(0, 256, (10, 1, 4, 4), dtype=torch.uint8)
    labels = torch.randint(0, 3, (10,))
    return model, bank, images, labels


@torch.no_grad()
def test_self_influence_is_muted_minus_seen_loss():
    model, bank, images, labels = _trained_like()
    ev = evaluate_halves(model, bank, images, labels, MEAN, STD, batch_size=3)
    x = to_float(images, MEAN, STD)
    for i in (0, 7):
        seen = F.cross_entropy(model(x[i : i + 1], bank.masks([i])), labels[i : i + 1])
        muted = F.cross_entropy(model(x[i : i + 1], bank.masks([i], muted=True)), labels[i : i + 1])
        assert float(ev.score[i]) == pytest.approx(float(muted - seen), abs=1e-5)
        assert int(ev.pred_muted[i]) == int(model(x[i : i + 1], bank.masks([i], muted=True)).argmax())
    # influence of example i on itself is its self-influence
    infl = influence(model, bank, images[:4], labels[:4], MEAN, STD, batch_size=8)
    assert infl.shape == (10, 4)
    torch.testing.assert_close(torch.diagonal(infl[:4]), ev.score[:4], atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_full_mlp_is_the_mean_of_its_two_halves():
    model, bank, images, labels = _trained_like()
    x = to_float(images, MEAN, STD)
    full = model(x)
    halves = (model(x, bank.masks(torch.arange(10))) + model(x, bank.masks(torch.arange(10), muted=True))) / 2
    torch.testing.assert_close(full, halves, atol=1e-5, rtol=1e-5)


def test_build_model_shapes():
    x = torch.zeros(2, 1, 28, 28)
    vgg = turnover_network("vgg11", 1, 28, 10, width=1 / 16)
    bank = MaskBank(vgg.masked_units, 2)
    assert vgg(x, bank.masks([0, 1])).shape == (2, 10)
    assert turnover_network("vgg11", 3, 32, 10).masked_units == [64, 128, 256, 256, 512, 512, 512, 512]
    assert turnover_network("mlp", 1, 28, 10).masked_units == [4096]
    with pytest.raises(ValueError):
        turnover_network("resnet", 1, 28, 10)


@torch.no_grad()
def test_mlp_influence_shortcut_equals_the_generic_path():
    model, bank, images, labels = _trained_like()
    fast = influence(model, bank, images[:3], labels[:3], MEAN, STD, batch_size=6)

    class Plain(torch.nn.Module):  # the same network without the shortcut
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x, masks=None):
            return self.m(x, masks)

    slow = influence(Plain(model), bank, images[:3], labels[:3], MEAN, STD, batch_size=6)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
