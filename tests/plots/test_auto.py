"""`plot_result` picks the paper's picture from the preset or the dimensions and writes it."""

import numpy as np
import pytest
import xarray as xr

import benign.plots.curves
import benign.plots.final_lines
import benign.plots.invariance
from benign.plots.auto import pick_kind, pick_kinds, plot_result
from tests.plots.synthetic_results import PAPER_GRIDS, toy_grid, train_grid

EXPECTED = {
    "fig4": "layers",
    "fig6": "heatmap",
    "fig7": "curves",
    "fig8": "lines",
    "fig9": "lines",
    "fig10": "lines",
    "fig11": "curves",
    "fig12": "curves",
    "fig13": "lines",
    "table2": "table",
    "table3": "table",
    "table4": "table",
}


def written(paths, suffix):
    assert paths and all(p.suffix == suffix and p.stat().st_size > 100 for p in paths), paths
    return paths


@pytest.mark.parametrize("name", sorted(PAPER_GRIDS))
def test_each_preset_gets_its_picture(name, tmp_path):
    ds = PAPER_GRIDS[name]()
    assert pick_kind(ds) == EXPECTED[name]
    paths = plot_result(ds, tmp_path / f"{name}.png")
    written(paths, ".md" if name.startswith("table") else ".png")
    assert paths[0].stem == name


def test_a_toy_grid_gets_the_heatmap_and_the_collapse(tmp_path):
    assert pick_kinds(toy_grid()) == ("heatmap", "collapse")
    assert pick_kinds(toy_grid(capacity=None)) == ("heatmap",)
    assert pick_kinds(toy_grid(capacity=(np.nan, np.nan))) == ("heatmap",)  # not measured yet
    paths = written(plot_result(toy_grid(), tmp_path / "g.png"), ".png")
    assert [p.name for p in paths] == ["g.png", "g-collapse.png"]


def test_a_toy_grid_sweeping_more_gets_one_heatmap_per_value(tmp_path):
    ds = toy_grid(extra={"K": [8, 32]})
    paths = written(plot_result(ds, tmp_path / "g.png", kind="heatmap"), ".png")
    assert [p.name for p in paths] == ["g-K=8.png", "g-K=32.png"]


@pytest.mark.parametrize(
    "swept, layers, kind",
    [
        ({"bank": [1, 8], "bank_labels": ["image", "random"]}, False, "heatmap"),
        ({"setting": ["random", "clean"]}, True, "layers"),
        ({"projector_width": [8, 16]}, False, "curves"),
    ],
)
def test_without_a_preset_the_dimensions_decide(swept, layers, kind, tmp_path):
    ds = train_grid("my_grid", swept, layers=layers)
    assert pick_kind(ds) == kind
    written(plot_result(ds, tmp_path / "x.png"), ".png")


@pytest.mark.parametrize("kind", ["curves", "table"])
def test_an_explicit_kind_overrides_the_preset(kind, tmp_path):
    ds = PAPER_GRIDS["fig13"]()
    written(plot_result(ds, tmp_path / "x.png", kind=kind), ".md" if kind == "table" else ".png")


def test_figure_7_draws_invariance_unless_told_another_variable(tmp_path, monkeypatch):

    drawn = []
    monkeypatch.setattr(
        benign.plots.invariance, "plot_invariance", lambda ds, out: drawn.append("invariance") or out
    )
    monkeypatch.setattr(benign.plots.curves, "plot_curves", lambda ds, out, var: drawn.append(var) or out)
    ds = PAPER_GRIDS["fig7"]()
    plot_result(ds, tmp_path / "x.png")
    plot_result(ds, tmp_path / "x.png", kind="curves", var="knn_accuracy")
    plot_result(
        train_grid("mine", {"setting": ["a", "b"]}, layers=True),
        tmp_path / "x.png",
        kind="curves",
        var="invariance",
    )
    assert drawn == ["invariance", "knn_accuracy", "invariance"]


def test_a_partly_done_grid_is_drawn_from_its_done_cells(tmp_path):
    ds = PAPER_GRIDS["fig11"]()
    ds["status"][0] = 0
    ds["knn_accuracy"][0] = np.nan
    written(plot_result(ds, tmp_path / "x.png"), ".png")


@pytest.mark.parametrize(
    "make, kind, message",
    [
        (
            lambda: xr.Dataset({"x": ("t", [1.0, 2.0])}, attrs={"title": "other"}),
            "auto",
            "cannot tell what to draw",
        ),
        (lambda: toy_grid(), "layers", "needs the variables knn_clean"),
        (lambda: toy_grid(capacity=None), "collapse", "capacity_lower"),
        (lambda: PAPER_GRIDS["table2"]().assign(status=lambda d: d.status * 0), "auto", "no cell"),
        (lambda: toy_grid(), "pie", "valid: auto, heatmap"),
        (lambda: PAPER_GRIDS["table3"](), "lines", "no numeric swept dimension"),
    ],
)
def test_what_cannot_be_drawn_is_refused_in_one_line(make, kind, message, tmp_path):
    with pytest.raises(ValueError, match=message) as error:
        plot_result(make(), tmp_path / "x.png", kind=kind)
    assert "\n" not in str(error.value)
    assert not list(tmp_path.iterdir())


def test_an_unknown_variable_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no variable 'nope'"):
        plot_result(toy_grid(), tmp_path / "x.png", var="nope")


def test_figure_10_draws_the_transfer_probe_per_target(tmp_path, monkeypatch):

    labels = []
    real = benign.plots.final_lines.selection_label
    monkeypatch.setattr(
        benign.plots.final_lines,
        "selection_label",
        lambda ds, sel: labels.append(real(ds, sel)) or real(ds, sel),
    )
    written(plot_result(PAPER_GRIDS["fig10"](), tmp_path / "x.png"), ".png")
    assert labels == [
        "no augmentations, cifar100",
        "no augmentations, stl10",
        "augmentations, cifar100",
        "augmentations, stl10",
    ]


def test_figure_13_draws_the_probe_at_initialisation(tmp_path, monkeypatch):
    """Figure 13's claim is relative to initialisation: its line is the mean knn_init of the done cells."""

    levels = []
    monkeypatch.setattr(
        benign.plots.final_lines, "reference_lines", lambda ax, chance, init: levels.append(init)
    )
    ds = PAPER_GRIDS["fig13"]()
    written(plot_result(ds, tmp_path / "x.png"), ".png")
    assert levels == [pytest.approx(float(ds.knn_init.where(ds.status == 1).mean()))]
    assert levels[0] is not None and 0 < levels[0] < 1
