"""What a result file of the grid engine (grids/engine.py, the one format of grids) means for a
picture: its swept dimensions, the labels of their values, the cells that are done, the
random-guessing level, the statistics over seeds."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import xarray as xr

DPI = 130
# Dimensions that are not swept parameters: a learning curve's axis is `epoch`, or `step` (0 and t)
# in a grid under a step budget (grids/train_cells.py, curve_axis).
CURVE_DIMS = ("epoch", "step")
AXES = ("seed", *CURVE_DIMS, "layer")


def config_of(ds: xr.Dataset) -> dict:
    try:
        config = json.loads(ds.attrs.get("config_json", "{}"))
    except (TypeError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def preset_of(ds: xr.Dataset) -> str:
    """'fig14', 'table2', 'fz' ... when the file comes from a preset (also 'table2-small' ->
    'table2'), else ''."""
    name = str(ds.attrs.get("grid_name", "")).strip().lower()
    match = re.match(r"(fig|table)(\d+)(?![0-9])", name)
    if match:
        return match.group(1) + match.group(2)
    base = re.sub(r"-(tiny|small|cpu|full)$", "", name)
    return base if base in ("fz", "sslmem") else ""


def chance_level(ds: xr.Dataset) -> float | None:
    """Random guessing, 1/C: the `random_guessing` attribute, else C from the grid's parameters."""
    if "random_guessing" in ds.attrs:
        return float(ds.attrs["random_guessing"])
    params = config_of(ds).get("params")
    C = params.get("C") if isinstance(params, dict) else None
    return 1.0 / C if isinstance(C, (int, float)) and not isinstance(C, bool) and C > 0 else None


def require(ds: xr.Dataset, names, what: str) -> None:
    missing = [v for v in names if v not in ds.variables]
    if missing:
        raise ValueError(
            f"{what} needs the variables {', '.join(names)}; the file lacks {', '.join(missing)}"
        )


def swept_dims(ds: xr.Dataset) -> list[str]:
    """The swept parameters, in the file's order: the cell dimensions other than seed."""
    source = ds["status"] if "status" in ds else next(iter(ds.data_vars.values()), None)
    return [] if source is None else [d for d in source.dims if d not in AXES]


def done_only(ds: xr.Dataset, var: str) -> xr.DataArray:
    """`var` with the cells that are not done (status != 1) set to NaN; ValueError if none is done."""
    value = ds[var].astype(float)
    if "status" not in ds:
        return value
    done = ds["status"] == 1
    if not bool(done.any()):
        raise ValueError("nothing to draw: no cell of the grid is done yet")
    return value.where(done)


def value_label(ds: xr.Dataset, dim: str, value) -> str:
    """How the paper names a swept value: the string of a `<dim>_name` coordinate, 'per sample' for
    label_classes = 0 (figure 9), percentages for label noise (figures 11, 13)."""
    names = f"{dim}_name"
    if names in ds.coords:
        return str(ds[names].sel({dim: value}).item())
    if dim == "label_classes" and value == 0:
        return "per sample"
    if dim == "label_noise":
        return f"{100 * float(value):g} %"
    return f"{dim} = {float(value):g}" if isinstance(value, (float, np.floating)) else f"{dim} = {value}"


def selection_label(ds: xr.Dataset, selection: dict) -> str:
    return ", ".join(value_label(ds, d, v) for d, v in selection.items())


def selections(ds: xr.Dataset, dims: list[str]) -> list[dict]:
    """Every combination of values of `dims` (one empty selection when dims is empty)."""
    combos = [{}]
    for d in dims:
        combos = [{**c, d: v.item()} for c in combos for v in ds[d].values]
    return combos


def seed_spread(value: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Mean, min and max over seeds (NaN seeds ignored)."""
    if "seed" not in value.dims:
        return value, value, value
    return value.mean("seed"), value.min("seed"), value.max("seed")


def mean_std_over_seeds(value: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Mean, sample standard deviation (ddof=1; NaN with one seed) and number of seeds counted."""
    if "seed" not in value.dims:
        return value, xr.full_like(value, np.nan), xr.ones_like(value)
    count = value.count("seed")
    std = value.std("seed", ddof=1).where(count > 1)
    return value.mean("seed"), std, count


def initial_level(ds: xr.Dataset, var: str, value: xr.DataArray) -> float | None:
    """Probing at initialisation: the `<probe>_init` variable, else epoch 0 of the curve itself."""
    init_var = var.split("_")[0] + "_init"
    if init_var in ds and init_var != var:
        init = ds[init_var].where(ds["status"] == 1) if "status" in ds else ds[init_var]
        return float(init.mean())
    if "epoch" in value.dims and float(value["epoch"][0]) == 0:
        return float(value.isel(epoch=0).mean())
    return None


def reference_lines(ax, chance: float | None, init: float | None, horizontal: bool = True) -> None:
    """The paper's dotted lines: random guessing and probing at initialisation (figures 4, 9, 11-13)."""
    line = ax.axhline if horizontal else ax.axvline
    if chance is not None:
        line(chance, color="grey", ls=":", lw=1.2, label=f"random guessing ({chance:.2f})")
    if init is not None and np.isfinite(init):
        line(init, color="black", ls="--", lw=1.0, label=f"initialisation ({init:.2f})")


# Axis labels of the paper's variables (their long_name, the full description, is too long for an axis).
SHORT_NAMES = {
    "knn_accuracy": "k-NN accuracy",
    "knn_final": "final k-NN accuracy",
    "linear_final": "final linear-probe accuracy",
    "train_loss": "training loss",
    "train_accuracy": "training accuracy",
    "knn_transfer": "k-NN accuracy on the target dataset",
    "knn_acc": "k-NN accuracy",
}


def axis_label(ds: xr.Dataset, var: str) -> str:
    attrs = ds[var].attrs
    name = SHORT_NAMES.get(var) or textwrap.shorten(str(attrs.get("long_name", var)), 45, placeholder="...")
    units = attrs.get("units", "")
    return f"{name} ({units})" if units not in ("", "1") else name


def relative_luminance(rgb) -> float:
    """WCAG 2 relative luminance of an sRGB colour with channels in [0, 1]."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def text_colour(background) -> str:
    """Black or white, whichever contrasts more with `background` (WCAG contrast ratio), for numbers
    written on heatmap cells."""
    lum = relative_luminance(background)
    return "black" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "white"


def save_figure(fig, out: str | Path, ds: xr.Dataset | None = None) -> Path:
    """Write the PNG; with a training grid `ds`, the figure names at its foot the random-label cells
    that are not memorizations (Definition 4.1), so that no picture passes them off as one."""
    import matplotlib.pyplot as plt

    if ds is not None:
        from benign.plots.memorization import note

        text = note(ds)
        if text:
            # grow the figure by the note's height at its foot, keeping the axes where they were
            width, height = fig.get_size_inches()
            lines = textwrap.fill(text, int(width * 17))
            extra = 0.12 * (lines.count("\n") + 1) + 0.08
            old = {ax: ax.get_position() for ax in fig.axes}
            fig.set_size_inches(width, height + extra)
            for ax, box in old.items():
                scale = height / (height + extra)
                ax.set_position(
                    [box.x0, (box.y0 * height + extra) / (height + extra), box.width, box.height * scale]
                )
            for t in fig.texts:  # the suptitle keeps its distance from the top
                x, y = t.get_position()
                t.set_position((x, (y * height + extra) / (height + extra)))
            fig.text(0.01, 0.01, lines, fontsize=6.5, color="#8b0000", va="bottom")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out
