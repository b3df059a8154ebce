"""LayerMem's picture: per-layer means of the scores, split into the examples known to be memorised and
the others, and the increments from layer to layer."""

import numpy as np
import xarray as xr

from benign.plots.layer_memorization import distinct_layers, layer_means, plot_layer_memorization


def planted(n=40, layers=("layer1", "layer2", "embedding")):
    """Outliers (the first 4) score 0.1 per layer of depth, the others 0; the seed axis marks them."""
    outlier = np.arange(n) < 4
    score = np.where(outlier[:, None], 0.1 * np.arange(1, len(layers) + 1)[None, :], 0.0)
    return xr.Dataset(
        {
            "layermem_score": (("example", "layer"), score),
            "example_outlier": (("seed", "example"), np.tile(outlier.astype(float), (3, 1))),
            "status": (("seed",), np.ones(3)),
        },
        coords={"layer_name": ("layer", list(layers))},
    )


def test_the_known_examples_and_the_others_are_averaged_apart(tmp_path):
    means = layer_means(planted())
    assert list(means) == ["injected outliers", "the data's own"]
    np.testing.assert_allclose(means["injected outliers"][0], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(means["the data's own"][0], 0.0)
    np.testing.assert_allclose(means["injected outliers"][1], 0.0)  # no spread: no error
    path = plot_layer_memorization(planted(), tmp_path / "layermem.png")
    assert path.stat().st_size > 10_000


def test_without_known_examples_one_group_of_all():
    ds = planted().drop_vars("example_outlier")
    (name,) = layer_means(ds)
    assert name == "all examples"


def test_a_layer_with_the_numbers_of_the_one_before_is_drawn_once():
    ds = planted(layers=("layer4", "embedding", "output"))
    ds["layermem_score"][:, 1] = ds["layermem_score"][:, 0]  # the embedding is layer 4 averaged
    assert list(distinct_layers(ds)["layer_name"].values) == ["layer4", "output"]
    assert list(distinct_layers(planted())["layer_name"].values) == ["layer1", "layer2", "embedding"]
