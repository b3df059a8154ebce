"""`benign plot FILE`: the picture a result file calls for, from its preset (`grid_name`) or, when
that is unknown, from its dimensions.

    toy grid over n and B (figure 14)             heatmap, and the scaling collapse when it has capacity
    `benign toy capacity` (C_t against K, t)      capacity
    training subset n x bank B (preset nb)        heatmap with n = C_t / B, C_t stored at collect (B = 1)
    bank x bank_labels (figure 6)                 heatmap on a log B axis
    layer-wise probes (figure 4)                  layers
    normalized invariance per layer (figure 7)    curves of invariance
    figures 8, 9, 11, 12                          curves over epochs, one line per swept value
    figures 10, 13                                lines: final accuracy against label noise
    tables 2, 3, 4                                table (Markdown)
    per-example scores (presets fz, sslmem)       scores: histograms and ROC against the known answer;
                                                  layermem per layer; unitsel: what UnitMem's top units select
    `benign probe --no-knn` (UnitMem per layer)   unitmem: trained against initialisation
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from benign.plots.capacity import is_capacity_sweep, plot_capacity
from benign.plots.grid_result import preset_of

KINDS = (
    "auto", "heatmap", "curves", "layers", "lines", "table", "collapse", "capacity", "scores", "unitmem",
    "layermem", "unitsel", "corruption",
)  # fmt: skip

PRESET_KINDS = {
    "table1": ("layers",),
    "fig3": ("curves",),
    "fig4": ("layers",),
    "fig6": ("heatmap",),
    "fig7": ("curves",),
    "fig8": ("lines",),  # the final probe against the projector's width (the paper's figure 8)
    "fig9": ("lines",),  # ... against the number of random classes
    "fig11": ("curves",),
    "fig12": ("curves",),
    "fig10": ("lines",),
    "fig13": ("lines",),
    "table2": ("table",),
    "table3": ("table",),
    "table4": ("table",),
}


def is_toy(ds: xr.Dataset) -> bool:
    return ds.attrs.get("grid_kind") == "toy"


def has_capacity(ds: xr.Dataset) -> bool:
    """A capacity bracket measured for at least one parameter set (the engine leaves NaN until then)."""
    return (
        "capacity_lower" in ds and "capacity_upper" in ds and bool((ds["capacity_lower"].fillna(0) > 0).any())
    )


def pick_kinds(ds: xr.Dataset) -> tuple[str, ...]:
    """The kinds of picture `auto` draws for this file, the main one first; ValueError if none fits."""
    if is_toy(ds):
        return ("heatmap", "collapse") if has_capacity(ds) else ("heatmap",)
    if is_capacity_sweep(ds):
        return ("capacity",)
    from benign.plots.corruption import is_corruption

    if is_corruption(ds):
        return ("corruption",)
    from benign.plots.nb import is_nb

    if is_nb(ds):
        return ("heatmap",)
    preset = preset_of(ds)
    if preset in PRESET_KINDS:
        return PRESET_KINDS[preset]
    dims = set(ds.dims)
    if "fz_score" in ds or "sslmem_score" in ds:
        from benign.plots.memorization_scores import planted

        if planted(ds) is None:  # no example singled out (random labels everywhere): LayerMem alone
            return ("layermem",)
        extra = ("layermem",) if "layermem_score" in ds else ()
        # grids run before the units' selections were recorded hold NaN there
        if "example_layer_top_units" in ds and bool(ds["example_layer_top_units"].notnull().any()):
            extra += ("unitsel",)
        return ("scores", *extra)
    if "unit_mem" in ds and ("knn_clean" not in ds or bool(ds["knn_clean"].isnull().all())):
        return ("unitmem",)
    if "bank" in dims and "knn_final" in ds:
        return ("heatmap",)
    if "layer" in dims and "knn_clean" in ds and "knn_noisy" in ds:
        return ("layers",)
    if "epoch" in dims and "knn_accuracy" in ds:
        return ("curves",)
    if "knn_final" in ds:
        return ("lines",) if "label_noise" in dims else ("table",)
    title = ds.attrs.get("title", "")
    raise ValueError(
        f"cannot tell what to draw from this file (title {title!r}, dimensions {', '.join(ds.dims) or 'none'});"
        f" it is not a toy grid, a toy capacity sweep or a training grid"
    )


def pick_kind(ds: xr.Dataset) -> str:
    return pick_kinds(ds)[0]


def _suffixed(out: Path, suffix: str) -> Path:
    return out.with_name(f"{out.stem}-{suffix}.png")


def draw(ds: xr.Dataset, out: Path, kind: str, var: str | None = None) -> list[Path]:
    """One kind of picture at `out` (a .png; a table goes to the .md next to it)."""
    if kind == "heatmap":
        from benign.plots.nb import is_nb, plot_nb_heatmaps

        if is_nb(ds):
            return plot_nb_heatmaps(ds, out, var)
        if "bank" in ds.dims and not is_toy(ds):
            from benign.plots.bank import plot_bank_heatmaps

            return plot_bank_heatmaps(ds, out, var or "knn_final")
        from benign.plots.heatmap import plot_heatmaps

        return plot_heatmaps(ds, out, var or "knn_acc")
    if kind == "capacity":
        return [plot_capacity(ds, out)]
    if kind == "collapse":
        from benign.plots.collapse import plot_collapse

        return [plot_collapse(ds, out, var or "knn_acc")]
    if kind == "curves":
        if var == "invariance" or (var is None and preset_of(ds) == "fig7"):
            from benign.plots.invariance import plot_invariance

            return [plot_invariance(ds, out)]
        from benign.plots.curves import plot_curves

        if var is None and preset_of(ds) == "fig3":  # the training loss, and the labels fitted beside it
            return [
                plot_curves(ds, out, "train_loss"),
                plot_curves(ds, _suffixed(out, "fit"), "train_accuracy"),
            ]
        return [plot_curves(ds, out, var or "knn_accuracy")]
    if kind == "layers":
        from benign.plots.layers import plot_layers

        return [plot_layers(ds, out)]
    if kind == "lines":
        from benign.plots.final_lines import plot_final_lines

        return [plot_final_lines(ds, out, var)]
    if kind == "unitmem":
        from benign.plots.unit_memorization import plot_unit_memorization

        return [plot_unit_memorization(ds, out)]
    if kind == "scores":
        from benign.plots.memorization_scores import plot_scores

        return [plot_scores(ds, out, var or ("fz_score" if "fz_score" in ds else "sslmem_score"))]
    if kind == "layermem":
        from benign.plots.layer_memorization import plot_layer_memorization

        return [plot_layer_memorization(ds, out)]
    if kind == "unitsel":
        from benign.plots.unit_selection import plot_unit_selection

        return [plot_unit_selection(ds, out)]
    if kind == "corruption":
        from benign.plots.corruption import plot_corruption

        return [plot_corruption(ds, out)]
    if kind == "table":
        from benign.plots.tables import write_table

        return [write_table(ds, out, var)]
    raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")


def plot_result(ds: xr.Dataset, out: str | Path, kind: str = "auto", var: str | None = None) -> list[Path]:
    """Write the picture(s) (PNG) and/or Markdown table(s) of a loaded result and return their paths.

    `out` names the main picture (its suffix is replaced by .png, or .md for a table); further
    pictures of `auto` go next to it as OUT-<kind>.png (e.g. fig14-collapse.png). `var` overrides the
    variable drawn. ValueError with a one-line message when the file is not something this can draw.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    if var is not None and var not in ds.variables:
        raise ValueError(f"the file has no variable {var!r}; it has {', '.join(map(str, ds.data_vars))}")
    out = Path(out).with_suffix(".png")
    kinds = pick_kinds(ds) if kind == "auto" else (kind,)
    paths = []
    for i, k in enumerate(kinds):
        paths += draw(ds, out if i == 0 else _suffixed(out, k), k, var if i == 0 else None)
    return paths
