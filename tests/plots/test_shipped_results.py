"""The result files shipped in docs/results/ load with the current code and say what the README says
of them: at cpu, table 2, figure 13 and the n x B grid (C_t, and which cells beat initialisation).
The scoreboard of all of them is tests/grids/test_claims.py's."""

from pathlib import Path

import numpy as np

from benign.plots.auto import pick_kinds
from benign.store.netcdf import load_result

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"


def test_the_nb_grid_at_cpu():
    ds = load_result(RESULTS / "nb-cpu.nc")
    assert ds.attrs["grid_name"] == "nb" and ds.attrs["complete"] == "true" and (ds.status == 1).all()
    assert (float(ds.capacity_lower), float(ds.capacity_upper)) == (250.0, 500.0)
    gain = ds.knn_final - ds.knn_init
    assert (gain.sel(B=64) > 0).all()  # far beyond capacity: above initialisation, every seed
    memorised = ds.bank_fit >= 0.93  # B = 1 and 4, B = 16 up to n = 250
    assert int(memorised.sum()) == 2 * 10 and (gain.where(memorised) < 0).sum() == 20
    assert np.isclose(float(ds.knn_init.mean()), 0.797, atol=5e-4)
    assert pick_kinds(ds) == ("heatmap",)


def _setting(ds, name: str):
    return ds.sel(setting=list(ds.setting_name.values).index(name))


def test_table_2_at_cpu():
    """Table 2 at cpu, for each seed, under Definition 4.1: random labels without DA all fitted and
    probing below initialisation (malign); with DA all fitted and 0.05 above it (benign); clean + DA
    highest. Its linear probes (table 4) are fitted on the whole clean training split."""
    ds = load_result(RESULTS / "table2-cpu.nc")
    assert ds.attrs["grid_name"] == "table2" and ds.attrs["complete"] == "true" and (ds.status == 1).all()
    random, random_da, clean_da = (_setting(ds, k) for k in ("random", "random+DA", "clean+DA"))
    assert (random.train_accuracy_final >= 0.99).all() and (random.knn_final < random.knn_init).all()
    assert (random_da.train_accuracy_final >= 0.99).all()
    assert ((random_da.knn_final - random_da.knn_init) >= 0.05).all()
    assert (clean_da.knn_final >= ds.knn_final.max("setting")).all()
    assert (random.linear_final < random.linear_init).all() and (
        random_da.linear_final > random_da.linear_init
    ).all()
    assert np.isclose(float(ds.knn_init.mean()), 0.797, atol=5e-4)  # the init probe of nb


def test_figure_13_at_cpu():
    """At 100% label noise the run with augmentation probes above initialisation, the run without below;
    both fit every random label (table 2's cells)."""
    ds = load_result(RESULTS / "fig13-cpu.nc")
    assert ds.attrs["grid_name"] == "fig13" and (ds.status == 1).all()
    without, with_da = (ds.sel(label_noise=1.0, setting=i) for i in (0, 1))
    assert list(ds.setting_name.values) == ["without augmentations", "with augmentations"]
    assert (with_da.knn_final > with_da.knn_init).all() and (without.knn_final < without.knn_init).all()
    assert (ds.train_accuracy_final.sel(label_noise=1.0) >= 0.99).all()


def test_the_cpu_setting_holds_on_draws_no_preset_uses():
    """examples/grids/cpu_heldout_draws.toml: model and label seeds 2, 3 and training subsets 1, 2
    (the presets use seeds 0, 1 and subset 0): every cell a benign memorization by 0.03 or more."""
    ds = load_result(RESULTS / "cpu-heldout-draws.nc")
    assert (ds.status == 1).all() and ds.status.shape == (2, 2)
    assert list(ds.seed.values) == [2, 3] and list(ds.subset_seed.values) == [1, 2]
    assert (ds.train_accuracy_final >= 0.99).all()
    assert ((ds.knn_final - ds.knn_init) >= 0.03).all()


def test_unitmem_per_layer_at_cpu(tmp_path):
    """docs/memorization-scores.md: without DA the encoder's units lose selectivity with depth and the
    projector gains it; with DA selectivity rises with depth, above initialisation from layer 3 on."""
    from benign.plots.auto import plot_result

    ds = load_result(RESULTS / "unitmem-cpu.nc")
    assert list(ds["setting_name"].values) == ["random", "random+DA"] and ds.sizes["seed"] == 2
    names = list(ds["layer_name"].values)
    at = lambda name: names.index(name)  # noqa: E731
    random, with_da = (ds.isel(setting=i) for i in (0, 1))
    encoder = [at(n) for n in ("layer1", "layer2", "layer3", "layer4")]
    for seed in range(2):
        r, d = random.isel(seed=seed), with_da.isel(seed=seed)
        assert np.all(np.diff(r["unit_mem"].values[encoder]) < 0)  # falls through the encoder
        assert (
            r["unit_mem"].values[at("projector_hidden")] > r["unit_mem_init"].values[at("projector_hidden")]
        )
        assert np.all(np.diff(d["unit_mem"].values[encoder]) > 0)  # rises through the encoder
        assert np.all(d["unit_mem"].values[encoder[2:]] > d["unit_mem_init"].values[encoder[2:]])
    assert np.isnan(ds["unit_mem"].values[..., at("output")]).all()  # no UnitMem at the output
    assert plot_result(ds, tmp_path / "unitmem.png")[0].is_file()
