"""The UnitMem picture of `benign probe --no-knn` files, picked by `benign plot`."""

import numpy as np
import xarray as xr

from benign.plots.auto import pick_kinds, plot_result


def test_a_probe_without_knn_is_drawn_as_unitmem_per_layer(tmp_path):
    names = ["layer1", "embedding", "projector_hidden", "output"]
    ds = xr.Dataset(
        {
            "unit_mem": ("layer", [0.3, 0.4, 0.5, np.nan]),
            "unit_mem_init": ("layer", [0.4, 0.4, 0.4, np.nan]),
            "knn_clean": ("layer", [np.nan] * 4),
        },
        coords={"layer": range(4), "layer_name": ("layer", names)},
    )
    assert pick_kinds(ds) == ("unitmem",)
    (png,) = plot_result(ds, tmp_path / "probe.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
