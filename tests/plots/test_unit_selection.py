"""UnitMem's known answer: which share of the units' selective examples are the planted ones, per
layer, against their share of the training examples; and claim UM judged from it."""

import numpy as np
import pytest
import xarray as xr

from benign.grids.claims import judge_um
from benign.plots.unit_selection import example_unit_scores, plot_unit_selection, selection_shares

LAYERS = ("layer1", "layer4", "embedding", "output")


def grid(marker="example_mislabelled", n=20, models=4, hit=3):
    """Examples 0-3 planted; each model trains on the even or the odd examples (2 planted of 10). Per
    model, layer1's top unit selects an example that is not planted, layer4's `hit` of its 4 top units
    select planted ones; the embedding repeats layer4; the output has negative activations (NaN)."""
    marks = (np.arange(n) < 4).astype(float)
    inside = np.array([(np.arange(n) % 2 == s % 2).astype(float) for s in range(models)])
    top = np.zeros((models, n, len(LAYERS)))
    for s in range(models):
        mine = np.flatnonzero(inside[s])
        top[s, mine[-1], 0] = 1  # examples >= 4 are never planted
        top[s, mine[0], 1] += hit  # mine[0] is 0 or 1: planted
        top[s, mine[-1], 1] += 4 - hit
    top[..., 2] = top[..., 1]
    top[..., 3] = np.nan
    units = top * 3
    best = np.where(top > 0, 0.9, 0.0)  # the top units' UnitMem
    best[..., 3] = np.nan
    return xr.Dataset(
        {
            "example_layer_unit_mem": (("seed", "example", "layer"), best),
            "example_layer_top_units": (("seed", "example", "layer"), top),
            "example_layer_units": (("seed", "example", "layer"), units),
            "in_training": (("seed", "example"), inside),
            marker: (("seed", "example"), np.tile(marks, (models, 1))),
            "status": (("seed",), np.ones(models)),
        },
        coords={"layer_name": ("layer", list(LAYERS))},
    )


def test_shares_are_pooled_over_models_against_the_training_share(tmp_path):
    s = selection_shares(grid())
    assert s["layers"] == ["layer1", "layer4"]  # the embedding repeats layer4; the output has none
    assert s["base"] == pytest.approx(0.2) and s["known"] == "mislabelled" and s["models"] == 4
    np.testing.assert_allclose(s["top"][0], [0.0, 0.75])
    np.testing.assert_allclose(s["all"][0], [0.0, 0.75])
    np.testing.assert_allclose(s["top"][1], 0.0)  # every model the same: no spread
    assert plot_unit_selection(grid(), tmp_path / "u.png").stat().st_size > 5_000


def test_claim_um_needs_twice_the_share_at_the_embedding_in_both_grids():
    ok = judge_um(grid(), grid("example_outlier"))
    assert ok.holds and "3.8x" in ok.number and not ok.why
    low = judge_um(grid(), grid("example_outlier", hit=1))  # 0.25 against 0.2: 1.2x
    assert not low.holds and "injected outliers 1.2x" in low.why


def test_a_grid_without_planted_examples_is_refused():
    ds = grid()
    ds["example_mislabelled"][:] = 1.0  # random labels everywhere: nothing singled out
    with pytest.raises(ValueError, match="plants no examples"):
        selection_shares(ds)


def test_example_scores_average_over_the_models_that_trained_on_the_example():
    layers, score, known = example_unit_scores(grid())
    assert layers == ["layer1", "layer4"] and score.shape == (20, 2) and known.sum() == 4
    # each model's layer4 selects its first planted example (0 or 1): trained on by 2 of the 4 models
    # each, selected each time
    np.testing.assert_allclose(score[:2, 1], 0.9)
    np.testing.assert_allclose(score[2:4, 1], 0.0)
    # layer1 selects the last training example of each model (18 or 19)
    np.testing.assert_allclose(score[18:, 0], 0.9)
    np.testing.assert_allclose(score[:18, 0], 0.0)
