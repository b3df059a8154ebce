"""The result files shipped in docs/results/ load with the current code and say what the README says
of them: at cpu, table 2, figure 13, figure 6 and the n x B grid (C_t, and which cells beat
initialisation)."""

from pathlib import Path

import numpy as np

from plots.auto import pick_kinds
from store.netcdf import load_result

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


def test_figure_6_at_cpu():
    ds = load_result(RESULTS / "fig6-cpu.nc")
    assert ds.attrs["grid_name"] == "fig6" and (ds.status == 1).all() and list(ds.bank.values) == [1, 8, 64]
    image, random = (list(ds.bank_labels_name.values).index(k) for k in ("image", "random"))
    fit = ds.bank_fit.isel(bank_labels=random)
    assert (fit.diff("bank") < 0).all()  # a random label per view: fewer fitted as B grows, every seed
    knn = ds.knn_final.isel(bank_labels=image)
    assert (knn.diff("bank") > 0).all()  # labels per image: the probe rises with B
    assert (knn.sel(bank=64) > ds.knn_init.isel(bank_labels=image, bank=0)).all()  # and crosses init
    assert (knn.sel(bank=1) < ds.knn_init.isel(bank_labels=image, bank=0)).all()


def _setting(ds, name: str):
    return ds.sel(setting=list(ds.setting_name.values).index(name))


def test_table_2_at_cpu():
    """Table 2 at cpu, for each seed: random labels without DA all fitted and
    probing below initialisation; with DA above it by 0.04; clean + DA at least as high."""
    ds = load_result(RESULTS / "table2-cpu.nc")
    assert ds.attrs["grid_name"] == "table2" and ds.attrs["complete"] == "true" and (ds.status == 1).all()
    random, random_da, clean_da = (_setting(ds, k) for k in ("random", "random+DA", "clean+DA"))
    assert (random.train_accuracy_final >= 0.99).all() and (random.knn_final < random.knn_init).all()
    assert ((random_da.knn_final - random_da.knn_init) >= 0.04).all()
    assert (clean_da.knn_final >= random_da.knn_final).all()
    assert np.isclose(float(ds.knn_init.mean()), 0.797, atol=5e-4)  # the init probe of nb and fig6


def test_figure_13_at_cpu():
    """At 100% label noise the run with augmentation probes above initialisation, the run without below."""
    ds = load_result(RESULTS / "fig13-cpu.nc")
    assert ds.attrs["grid_name"] == "fig13" and (ds.status == 1).all()
    without, with_da = (ds.sel(label_noise=1.0, setting=i) for i in (0, 1))
    assert list(ds.setting_name.values) == ["without augmentations", "with augmentations"]
    assert (with_da.knn_final > with_da.knn_init).all() and (without.knn_final < without.knn_init).all()
