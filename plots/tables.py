"""Tables 2, 3 and 4 as Markdown: the final probe accuracy in %, mean ± standard deviation over
seeds, one row per setting (random, random+DA, clean, clean+DA, ...) and a last row
'initialisation' (the same probe on the untrained network), one column per value of the other swept
parameters (dataset, architecture, subset size, ...). Table 2 of the paper is this table transposed."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from benign.plots.doc_tables import decimal
from benign.plots.grid_result import (
    CURVE_DIMS,
    done_only,
    mean_std_over_seeds,
    preset_of,
    require,
    selection_label,
    selections,
    swept_dims,
)
from benign.plots.memorization import cell_kinds, table_suffix
from benign.theory.memorization_kind import FIT_FOR_MEMORIZATION

PROBE_OF = {"table2": "knn", "table3": "knn", "table4": "linear"}
PROBE_NAME = {"knn": "k-NN", "linear": "linear"}


def row_dim(ds: xr.Dataset, var: str) -> str | None:
    """`setting` when swept, else the first swept parameter with names, else the first one."""
    dims = [d for d in swept_dims(ds) if d in ds[var].dims]
    if "setting" in dims:
        return "setting"
    named = [d for d in dims if f"{d}_name" in ds.coords]
    return (named or dims or [None])[0]


def percent(mean: float, std: float, count: int) -> str:
    if mean != mean:  # NaN: no seed done
        return "–"
    return decimal(100 * mean, 1) if count < 2 else f"{decimal(100 * mean, 1)} ± {decimal(100 * std, 1)}"


def markdown_table(ds: xr.Dataset, var: str | None = None) -> str:
    """The table for `var` (default: knn_final, or linear_final for table 4) with its initialisation row
    from the matching `<probe>_init` variable when the file has it."""
    probe = PROBE_OF.get(preset_of(ds), "knn")
    var = var or f"{probe}_final"
    require(ds, [var], "a table")
    if {*CURVE_DIMS, "layer"} & set(ds[var].dims):
        raise ValueError(
            f"{var} varies over epochs or layers; a table takes a final value such as {probe}_final"
        )
    probe = var.split("_")[0]
    init_var = f"{probe}_init"
    value = done_only(ds, var)
    rows_dim = row_dim(ds, var)
    columns = selections(ds, [d for d in swept_dims(ds) if d != rows_dim and d in value.dims])
    kinds = cell_kinds(ds, probe)
    rows = [
        (selection_label(ds, r) or "trained", value.sel(r), None if kinds is None else kinds.sel(r))
        for r in selections(ds, [rows_dim] if rows_dim else [])
    ]
    if init_var in ds and init_var != var:
        init = done_only(ds, init_var)
        # per seed, the mean over the rows (every setting starts from the same weights), then over seeds
        rows.append(("initialisation", init.mean(rows_dim) if rows_dim in init.dims else init, None))
    seeds = ds.sizes.get("seed", 1)
    name = PROBE_NAME.get(probe, probe)
    header = [rows_dim or "", *[selection_label(ds, c) or f"{name} accuracy (%)" for c in columns]]
    lines = [f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
    for label, field, kind in rows:
        mean, std, count = mean_std_over_seeds(field)
        cells = [
            percent(float(mean.sel(c)), float(std.sel(c)), int(count.sel(c)))
            + ("" if kind is None else table_suffix(kind.sel(c)))
            for c in columns
        ]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    title = preset_of(ds) or ds.attrs.get("grid_name", "") or "table"
    note = (
        f"{name} probing accuracy ({var}) in %, mean ± sample standard deviation (ddof=1) over the "
        f"{seeds} seed(s) (cells not done left out)"
        + (
            f"; 'initialisation' is {init_var} on the untrained network."
            if rows[-1][0] == "initialisation"
            else "."
        )
        + (
            " In brackets, Definition 4.1 for the random-label runs: a memorization fits at least "
            f"{100 * FIT_FOR_MEMORIZATION:.0f}% of its random labels on the unaugmented training images, "
            "benign when its probe then beats initialisation, malign when not; short of that fit it is "
            "not memorised."
            if kinds is not None and probe == "knn"
            else ""
        )
    )
    return f"### {title}\n\n{note}\n\n" + "\n".join(lines) + "\n"


def write_table(ds: xr.Dataset, out: str | Path, var: str | None = None) -> Path:
    out = Path(out).with_suffix(".md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown_table(ds, var))
    return out
