"""empirical/training.py: the learning-rate schedule, constant (the paper's) with an optional linear
cooldown; the SimCLR objective."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from benign.empirical.training import TrainConfig, learning_rate


@given(total=st.integers(1, 5000), cooldown=st.floats(0.0, 1.0), lr=st.floats(1e-5, 1e-1))
def test_constant_then_linear_to_the_end(total, cooldown, lr):
    cfg = TrainConfig(lr=lr, cooldown=cooldown)
    rates = [learning_rate(cfg, t, total) for t in range(total)]
    n_cool = round(cooldown * total)
    assert all(r == lr for r in rates[: total - n_cool])  # the paper's constant rate before it
    assert all(a >= b for a, b in zip(rates, rates[1:]))  # never rises
    assert all(r > 0 for r in rates)  # every step of the budget trains
    if n_cool:
        assert abs(rates[-1] - lr / n_cool) <= 1e-12 * lr  # the last step at lr / n_cool
        steps = [rates[i] - rates[i + 1] for i in range(total - n_cool, total - 1)]
        assert all(abs(d - lr / n_cool) <= 1e-9 * lr for d in steps)  # linear


def test_a_cooldown_outside_zero_to_one_is_refused():
    import pytest

    with pytest.raises(ValueError, match="cooldown must be a fraction"):
        TrainConfig(cooldown=1.5).validate()


def test_the_simclr_objective_pairs_the_two_views_of_each_image():
    import dataclasses

    from benign.empirical.augment import parse_augmentation
    from benign.empirical.probing import view_statistics
    from benign.empirical.profiles.simclr import nt_xent
    from benign.empirical.training import TrainConfig, build_model, loss_fn, make_batch, prepare_data

    cfg = TrainConfig(
        subset=20, test_subset=20, loss="simclr", simclr_dim=16, projector_width=32, device="cpu"
    )
    data = prepare_data(cfg, "cpu")
    model = build_model(cfg, data, "cpu")
    assert model.projector.out.out_features == 16
    x, targets = make_batch(cfg, data, parse_augmentation("simclr"), torch.arange(8), 0, "cpu")
    assert x.shape[0] == 16 and targets is None
    out = model(x)
    torch.testing.assert_close(loss_fn("simclr", out, None), nt_xent(out[:8], out[8:]))
    # the same view twice aligns perfectly: the alignment measures only what augmentation moves
    images = data.train.images[:6]
    assert torch.all(view_statistics(model, images, data.train, parse_augmentation("none"))[0] < 1e-10)
    assert torch.all(view_statistics(model, images, data.train, parse_augmentation("simclr"))[0] > 0)
    # LayerMem's input: one column per layer, each computed as at the embedding
    layers = ("layer1", "layer4", "embedding", "projector_hidden")
    per_layer = view_statistics(
        model, images, data.train, parse_augmentation("simclr"), seed=3, layers=layers
    )[0]
    assert per_layer.shape == (6, 4) and torch.all((per_layer >= 0) & (per_layer <= 4))
    torch.testing.assert_close(per_layer[:, 1], per_layer[:, 2])  # the embedding is layer4 averaged
    alone = view_statistics(model, images, data.train, parse_augmentation("simclr"), seed=3)[0]
    torch.testing.assert_close(alone[:, 0], per_layer[:, 2])
    # UnitMem's means: under identical views each unit's activation on the image itself; none where
    # activations go negative (the output layer)
    from benign.empirical.datasets import normalize

    _, means = view_statistics(
        model, images, data.train, parse_augmentation("none"), 2, layers=("layer4", "output")
    )
    model.eval()
    with torch.no_grad():
        direct = model.features(normalize(images, data.train), ("layer4",), pool="avg")["layer4"].float()
    torch.testing.assert_close(means["layer4"], direct)
    assert means["output"] is None
    with pytest.raises(ValueError, match="two fresh views"):
        dataclasses.replace(cfg, mixup="xy").validate()
