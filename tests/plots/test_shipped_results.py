"""The result files shipped in docs/results/ load with the current code and say what the README says
of them (the n x B grid at cpu: C_t, and which cells beat initialisation)."""

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
