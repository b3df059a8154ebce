"""Number tables of the docs, generated from the shipped result files (`make docs`, `benign docs`).

A page marks a generated table with a pair of comments naming it,

    <!-- table: table2-cpu -->
    | ... the table, rewritten by `benign docs` ... |
    <!-- /table -->

and `render` replaces each block with `TABLES[name](results)`: the table computed from the files in
`results` (docs/results). The test suite renders every page and fails where a page and its file
disagree, so no number is pasted by hand. Values per seed are written "seed 0 / seed 1"."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import xarray as xr

from benign.theory.memorization_kind import memorization_kind

BLOCK = re.compile(r"(<!-- table: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)


def decimal(value: float, places: int = 3, signed: bool = False) -> str:
    """`value` to `places` decimals, halves away from zero as a reader rounds them: an accuracy of
    1609 / 2000 = 0.8045 is 0.805 (Python's float formatting gives 0.804, 0.8045 being stored a hair
    below). Float noise below 1e-10 is dropped first, so 0.859 - 0.79 reads +0.069."""
    if value != value:  # not done
        return "–"
    d = Decimal(repr(round(float(value), 10))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{d:+}" if signed else f"{d}"


def per_seed(values, places: int = 3, signed: bool = False) -> str:
    return " / ".join(decimal(v, places, signed) for v in np.asarray(values, dtype=float).ravel())


def rows_to_markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def open_result(results: Path, name: str) -> xr.Dataset:
    path = Path(results) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the result file this table is generated from is missing")
    with xr.open_dataset(path) as ds:
        return ds.load()


def table2_cpu(results: Path) -> str:
    """Table 2 (k-NN) and table 4 (linear) at cpu, per seed, with Definition 4.1's verdict."""
    ds = open_result(results, "table2-cpu.nc")
    names = [str(n) for n in ds["setting_name"].values]
    first = ds.isel(setting=0)
    rows = [["initialisation", per_seed(first["knn_init"]), "", "", per_seed(first["linear_init"]), ""]]
    for i, name in enumerate(names):
        cell = ds.isel(setting=i)
        gain = cell["knn_final"] - cell["knn_init"]
        fitted = cell["train_accuracy_final"]
        kinds = set(
            memorization_kind(fitted, cell["knn_final"], cell["knn_init"], cell["random_label_share"])
        )
        verdict = "" if kinds == {"clean"} else " / ".join(sorted(kinds))
        rows.append(
            [
                name.replace("+", " + "),
                per_seed(cell["knn_final"]),
                per_seed(gain, signed=True),
                per_seed(fitted, 2),
                per_seed(cell["linear_final"]),
                verdict,
            ]
        )
    header = ["setting", "k-NN seed 0 / 1", "gain over init", "labels fitted", "linear probe seed 0 / 1"]
    return rows_to_markdown([*header, "Definition 4.1"], rows)


def unitmem_cpu(results: Path) -> str:
    """UnitMem per layer at cpu, mean over seeds, initialisation first; the output layer left out."""
    ds = open_result(results, "unitmem-cpu.nc")
    keep = [i for i, n in enumerate(ds["layer_name"].values) if n != "output"]
    ds = ds.isel(layer=keep)
    names = [str(n) for n in ds["layer_name"].values]
    rows = [["initialisation", *(decimal(v) for v in ds["unit_mem_init"].mean(("setting", "seed")).values)]]
    labels = {"random": "random labels, no DA", "random+DA": "random labels + DA"}
    for i, s in enumerate(ds["setting_name"].values):
        mean = ds["unit_mem"].isel(setting=i).mean("seed").values
        rows.append([labels.get(str(s), str(s)), *(decimal(v) for v in mean)])
    header = ["layer", *(n.replace("layer4", "layer4 / embedding") for n in names if n != "embedding")]
    rows = [[r[0], *(v for n, v in zip(names, r[1:]) if n != "embedding")] for r in rows]
    return rows_to_markdown(header, rows)


def layermem_table(results: Path, name: str) -> str:
    """LayerMem per layer (plots.layer_memorization.layer_means): the mean over the pool, over the
    examples known to be memorised and the others where the grid plants some, and the AUROC of each
    layer's score finding them; a layer with the numbers of the one before (the embedding, layer 4
    averaged) drawn once, as in the picture."""
    from benign.plots.layer_memorization import distinct_layers, layer_means
    from benign.plots.memorization_scores import planted
    from benign.theory.memorization_scores import auroc

    ds = open_result(results, name)
    layer_means(ds)  # checks that the file has LayerMem
    ds = distinct_layers(ds)
    groups = layer_means(ds)
    names = [str(n) for n in ds["layer_name"].values]
    keep = range(len(names))
    score = ds["layermem_score"].transpose("example", "layer").values
    rows = [
        [f"LayerMem, {g}", *(decimal(mean[i], 4, signed=True) for i in keep)]
        for g, (mean, _) in groups.items()
    ]
    found = planted(ds)
    if found is not None:
        overall = np.nanmean(score, 0)
        rows.insert(0, ["LayerMem, every example", *(decimal(overall[i], 4, signed=True) for i in keep)])
        rows.append(["AUROC", *(decimal(auroc(score[:, i], found[1])) for i in keep)])
    return rows_to_markdown(["layer", *(names[i] for i in keep)], rows)


def unit_selection_cpu(results: Path) -> str:
    """UnitMem's known answer (plots.unit_selection.selection_shares) of the fz and sslmem grids: per
    layer, the planted share of the top-decile units' selective examples and of every live unit's,
    with its ratio to the planted share of the training examples; and the AUROC of a per-example
    score from the same selections (`example_unit_scores`)."""
    from benign.plots.unit_selection import example_unit_scores, selection_shares
    from benign.theory.memorization_scores import auroc

    shares = {name: selection_shares(open_result(results, f"{name}-cpu.nc")) for name in ("fz", "sslmem")}
    names = shares["fz"]["layers"]
    rows = []
    for name, s in shares.items():
        if s["layers"] != names:
            raise ValueError(f"{name}-cpu.nc has the layers {s['layers']}, fz-cpu.nc {names}")
        for key, units in (("top", "top decile of units"), ("all", "every live unit")):
            rows.append(
                [
                    f"{name}: {s['known']} ({decimal(s['base'])} of the training examples), {units}",
                    *(f"{decimal(v)} ({v / s['base']:.1f}x)" for v in s[key][0]),
                ]
            )
        _, score, known = example_unit_scores(open_result(results, f"{name}-cpu.nc"))
        rows.append(
            [
                f"{name}: AUROC of each example's largest UnitMem of a unit selecting it",
                *(decimal(auroc(score[:, j], known)) for j in range(len(names))),
            ]
        )
    # the embedding (layer 4 averaged over space) has layer 4's units: drawn once, named both
    header = [f"{n} / embedding" if n == "layer4" and "embedding" not in names else n for n in names]
    return rows_to_markdown(["selective examples that are planted", *header], rows)


def cpu_curve(results: Path) -> str:
    """The learning curves the cpu setting was chosen from: random labels + DA on 250 images, the
    4096-wide projector, at a constant rate (every 500 steps) and with the cooldown (its last steps)."""
    constant = open_result(results, "cpu-curve-constant.nc").sel(projector_width=4096)
    cooldown = open_result(results, "cpu-curve-cooldown.nc")
    names = [str(n) for n in cooldown["setting_name"].values]
    cooldown = cooldown.isel(setting=names.index("cooldown 0.2"))
    steps = [float(e) for e in constant["epoch"].values if e % 500 == 0]
    last = [e for e in steps if e >= 2000]

    def row(ds, var, label, at):
        return [label, *(per_seed(ds[var].sel(epoch=e)) if e in at else "" for e in steps)]

    rows = [
        row(constant, "train_accuracy", "random labels fitted, seed 0 / 1, constant rate", steps),
        row(constant, "knn_accuracy", "20-NN probe, seed 0 / 1, constant rate", steps),
        row(
            cooldown,
            "train_accuracy",
            "random labels fitted, seed 0 / 1, cooldown over the last 600 steps",
            last,
        ),
        row(cooldown, "knn_accuracy", "20-NN probe, seed 0 / 1, cooldown", last),
    ]
    return rows_to_markdown(["step", *(f"{e:.0f}" for e in steps)], rows)


def nb_cpu(results: Path) -> str:
    """The n x B grid at cpu: the k-NN gain over initialisation per seed, and the share of the n x B
    views fitted (mean over seeds) in brackets."""
    ds = open_result(results, "nb-cpu.nc")
    gain = ds["knn_final"] - ds["knn_init"]
    rows = [
        [
            f"n = {n}",
            *(
                f"{per_seed(gain.sel(n=n, B=b), signed=True)} ({decimal(ds['bank_fit'].sel(n=n, B=b).mean(), 2)})"
                for b in ds["B"].values
            ),
        ]
        for n in ds["n"].values
    ]
    header = ["gain over init, seed 0 / 1 (views fitted, mean)", *(f"B = {b}" for b in ds["B"].values)]
    return rows_to_markdown(header, rows)


TABLES = {
    "cpu-curve": cpu_curve,
    "nb-cpu": nb_cpu,
    "table2-cpu": table2_cpu,
    "unitmem-cpu": unitmem_cpu,
    "unitsel-cpu": unit_selection_cpu,
    "layermem-sslmem-cpu": lambda results: layermem_table(results, "sslmem-cpu.nc"),
    "layermem-cpu": lambda results: layermem_table(results, "layermem-cpu.nc"),
}


def render(text: str, results: str | Path) -> str:
    """`text` with every generated table block recomputed from the files in `results`."""

    def fill(m: re.Match) -> str:
        name = m.group("name")
        if name not in TABLES:
            raise ValueError(f"unknown generated table {name!r}; known: {', '.join(TABLES)}")
        try:
            table = TABLES[name](Path(results))
        except ValueError as e:  # a file without what the table reads
            raise ValueError(f"table {name}: {e}") from None
        return m.group(1) + table + m.group(4)

    return BLOCK.sub(fill, text)


def table_names(text: str) -> list[str]:
    return [m.group("name") for m in BLOCK.finditer(text)]
