"""The claims scoreboard: every claim of the three papers, judged on the result files of one scale.

One row a claim: its id (T1.. tables, F3.. figures, NB the n x B grid, P2 the profiles, S the
turn-over dropout scores, S10 their corruption sweep), the claim in one sentence, the paper's number, the criterion the project
applies, the project's number, and a verdict that is exactly `holds`, `fails` or `not run`.

A claim reads the files of its presets: in the results folder, `<preset>-<scale>.nc` (the shipped
files in docs/results/) or `<preset>.nc` (a report's folder, `benign report --out DIR`). A file of
another kind or preset counts as missing ("not run", saying so); a file that cannot be read is a
ClaimsError. Criteria hold per seed: a claim holds only when it holds on every seed of its file.
Where a claim concerns random-label networks, Definition 4.1 applies (theory/memorization_kind.py):
a network that fits fewer than 99% of its random labels is no memorization, and the claim fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from benign.store.netcdf import load_result
from benign.theory.memorization_kind import FIT_FOR_MEMORIZATION

VERDICTS = ("holds", "fails", "not run")
MARGIN = 0.03  # T2's benign margin: random + DA probes at least 3 points above initialisation
FIT = FIT_FOR_MEMORIZATION
FILE_TITLES = {
    "profiles": "memorization profiles",
    "memscore": "memorization scores by turn-over dropout",
    "memscore-mlp": "memorization scores by turn-over dropout",
}


class ClaimsError(ValueError):
    """A result file the scoreboard cannot read (one line naming it)."""


@dataclass(frozen=True)
class Judgement:
    number: str  # the project's number, per seed where it has seeds
    holds: bool
    why: str = ""  # for a claim that fails: the seed or cell that breaks it


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    paper: str
    criterion: str
    sources: tuple[str, ...]  # presets (file stems) it reads, in the order `judge` takes them
    judge: Callable[..., Judgement]


@dataclass(frozen=True)
class Row:
    id: str
    claim: str
    paper: str
    criterion: str
    project: str
    verdict: str
    why: str


# --- reading ---------------------------------------------------------------------------------------
def find_file(results: Path, stem: str, scale: str) -> Path | None:
    for name in (f"{stem}-{scale}.nc", f"{stem}.nc"):
        if (results / name).is_file():
            return results / name
    return None


def read_source(results: Path, stem: str, scale: str) -> tuple[xr.Dataset | None, str]:
    """The file of `stem`, or None and why. ClaimsError when it exists and cannot be read."""
    path = find_file(results, stem, scale)
    if path is None:
        return None, f"no {stem}-{scale}.nc or {stem}.nc in the folder"
    try:
        ds = load_result(path)
    except ValueError as e:
        raise ClaimsError(str(e)) from None
    title = FILE_TITLES.get(stem, "benign grid")
    if ds.attrs.get("title") != title:
        return None, f"{path.name} is not a {title!r} file"
    if title == "benign grid" and str(ds.attrs.get("grid_name", "")) != stem:
        return None, f"{path.name} holds grid {ds.attrs.get('grid_name')!r}, not {stem}"
    if title == "benign grid" and not is_current(ds, stem, scale):
        return None, f"{path.name} was run with other parameters than the {scale} preset {stem} has now"
    return ds, ""


def is_current(ds: xr.Dataset, stem: str, scale: str) -> bool:
    """Whether a preset's file holds the grid the preset makes at `scale` today."""
    import json

    from benign.grids import spec as grid_spec
    from benign.grids.engine import same_grid

    try:
        stored = json.loads(ds.attrs.get("config_json", "{}"))
        wanted = json.loads(json.dumps(grid_spec.preset(stem, scale).to_dict()))
    except ValueError:  # no such preset at this scale, or no configuration recorded
        return False
    return same_grid(stored, wanted)


# --- helpers on a training grid ----------------------------------------------------------------------
def done(ds: xr.Dataset, var: str) -> xr.DataArray:
    return ds[var].where(ds["status"] == 1) if "status" in ds else ds[var]


def setting(ds: xr.Dataset, var: str, name: str) -> xr.DataArray:
    """`var` of the setting called `name` (KeyError naming the settings there otherwise)."""
    names = [str(n) for n in ds["setting_name"].values]
    if name not in names:
        raise KeyError(f"no setting {name!r} (the file has {', '.join(names)})")
    return done(ds, var).isel(setting=names.index(name))


def per_seed(values: xr.DataArray, places: int = 3, signed: bool = False) -> str:
    """Each seed's value, rounded as the docs' tables round them (plots.doc_tables.decimal)."""
    from benign.plots.doc_tables import per_seed as rounded

    return rounded(values.values, places, signed)


def all_seeds(mask: xr.DataArray) -> bool:
    """True when the criterion holds on every seed (a NaN seed, not done, fails it)."""
    return bool(np.all(np.asarray(mask.values, dtype=bool))) and mask.size > 0


def seeds_failing(mask: xr.DataArray) -> str:
    """'seed 1' for the seeds where the criterion fails anywhere (over the other dimensions)."""
    if "seed" not in mask.dims:
        return "" if bool(np.all(mask.values)) else "failed"
    per_seed_ok = mask.all([d for d in mask.dims if d != "seed"]) if mask.ndim > 1 else mask
    bad = [str(s) for s, ok in zip(mask["seed"].values, per_seed_ok.values) if not ok]
    return f"seed {', '.join(bad)}" if bad else ""


def layer_index(ds: xr.Dataset, name: str) -> int:
    names = [str(n) for n in ds["layer_name"].values]
    return names.index(name)


def end_and_init(ds: xr.Dataset, var: str) -> tuple[xr.DataArray, xr.DataArray]:
    """The last and the first point of a learning curve (epoch 0 = initialisation)."""
    axis = "epoch" if "epoch" in ds[var].dims else "step"
    v = done(ds, var)
    return v.isel({axis: -1}), v.isel({axis: 0})


# --- the judges -------------------------------------------------------------------------------------
def judge_t1(ds: xr.Dataset) -> Judgement:
    end, init = end_and_init(ds, "knn_clean")
    fit = done(ds, "train_accuracy_final")
    emb, first = layer_index(ds, "embedding"), 0
    drop_emb = init.isel(layer=emb) - end.isel(layer=emb)
    drop_first = init.isel(layer=first) - end.isel(layer=first)
    ok = (fit >= FIT) & (drop_emb > 0) & (drop_emb > drop_first)
    number = (
        f"embedding {per_seed(init.isel(layer=emb))} -> {per_seed(end.isel(layer=emb))}; "
        f"{ds['layer_name'].values[first]} {per_seed(init.isel(layer=first))} -> "
        f"{per_seed(end.isel(layer=first))}; fit {per_seed(fit, 2)}"
    )
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def _table2_like(ds: xr.Dataset, probe: str) -> Judgement:
    final, init = f"{probe}_final", f"{probe}_init"
    fit = {s: setting(ds, "train_accuracy_final", s) for s in ("random", "random+DA")}
    value = {s: setting(ds, final, s) for s in ("random", "random+DA", "clean", "clean+DA")}
    base = setting(ds, init, "random")
    malign = (fit["random"] >= FIT) & (value["random"] < base)
    margin = MARGIN if probe == "knn" else 0.0
    benign = (fit["random+DA"] >= FIT) & (value["random+DA"] >= base + margin)
    top = value["clean+DA"] >= xr.concat(list(value.values()), "s").max("s")
    ok = malign & benign & top
    why = []
    for name, mask in (
        ("random not malign", malign),
        ("random+DA not benign", benign),
        ("clean+DA not highest", top),
    ):
        if not all_seeds(mask):
            why.append(f"{name} ({seeds_failing(mask)})")
    number = (
        f"random {per_seed(value['random'])} (fit {per_seed(fit['random'], 2)}); "
        f"random+DA {per_seed(value['random+DA'])} (fit {per_seed(fit['random+DA'], 2)}); "
        f"clean {per_seed(value['clean'])}; clean+DA {per_seed(value['clean+DA'])}; init {per_seed(base)}"
    )
    return Judgement(number, all_seeds(ok), "; ".join(why))


def judge_t2(ds: xr.Dataset) -> Judgement:
    return _table2_like(ds, "knn")


def judge_t4(ds: xr.Dataset) -> Judgement:
    return _table2_like(ds, "linear")


def judge_t3(ds: xr.Dataset) -> Judgement:
    v = {
        s: setting(ds, "knn_final", s)
        for s in ("random", "random+iid DA", "random+DA", "clean", "clean+iid DA")
    }
    ok = (v["random+DA"] >= v["random+iid DA"] + MARGIN) & (v["clean+iid DA"] > v["clean"])
    number = ", ".join(f"{s} {per_seed(x)}" for s, x in v.items())
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def steps_to_fit(curve: xr.DataArray, axis: str) -> xr.DataArray:
    """The first point of the curve where at least FIT of the labels are fitted (NaN: never)."""
    reached = curve >= FIT
    first = reached.argmax(axis)
    at = curve[axis].values[first.values]
    return xr.DataArray(np.where(reached.any(axis).values, at, np.nan), dims=first.dims, coords=first.coords)


def judge_f3(ds: xr.Dataset) -> Judgement:
    axis = "epoch" if "epoch" in ds["train_accuracy"].dims else "step"
    t = {s: steps_to_fit(setting(ds, "train_accuracy", s), axis) for s in ("random", "clean")}
    ok = t["random"] <= 3 * t["clean"]
    number = f"{axis}s to fit 99%: random {per_seed(t['random'], 0)}, clean {per_seed(t['clean'], 0)}"
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def judge_f4(ds: xr.Dataset) -> Judgement:
    clean, init = end_and_init(ds, "knn_clean")
    noisy, _ = end_and_init(ds, "knn_noisy")
    fit = done(ds, "train_accuracy_final")
    emb, out = layer_index(ds, "embedding"), layer_index(ds, "output")
    ok = (
        (fit >= FIT)
        & (clean.isel(layer=emb) > init.isel(layer=emb))
        & (clean.isel(layer=emb) > clean.isel(layer=out))
        & (noisy.isel(layer=out) > noisy.isel(layer=emb))
    )
    number = (
        f"clean probe: embedding {per_seed(clean.isel(layer=emb))} (init {per_seed(init.isel(layer=emb))}), "
        f"output {per_seed(clean.isel(layer=out))}; random-label probe: embedding "
        f"{per_seed(noisy.isel(layer=emb))}, output {per_seed(noisy.isel(layer=out))}; fit {per_seed(fit, 2)}"
    )
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def judge_f6(ds: xr.Dataset) -> Judgement:
    names = (
        [str(n) for n in ds["bank_labels_name"].values]
        if "bank_labels_name" in ds.coords
        else ["image", "random"]
    )
    knn = done(ds, "knn_final").isel(bank_labels=names.index("image"))
    fit = done(ds, "bank_fit").isel(bank_labels=names.index("random"))
    small, large = ds["bank"].values.min(), ds["bank"].values.max()
    ok = (knn.sel(bank=large) > knn.sel(bank=small)) & (fit.sel(bank=large) < fit.sel(bank=small))
    number = (
        f"label-preserving k-NN B={small}: {per_seed(knn.sel(bank=small))}, B={large}: {per_seed(knn.sel(bank=large))}; "
        f"random per view, views fitted B={small}: {per_seed(fit.sel(bank=small), 2)}, "
        f"B={large}: {per_seed(fit.sel(bank=large), 2)}"
    )
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def judge_f7(ds: xr.Dataset) -> Judgement:
    end, _ = end_and_init(ds, "invariance")
    emb = layer_index(ds, "embedding")
    names = [str(n) for n in ds["setting_name"].values]
    da, no = (end.isel(setting=names.index(s), layer=emb) for s in ("random+DA", "random"))
    ok = da < no
    number = f"invariance I at the embedding, end: random+DA {per_seed(da)}, random {per_seed(no)}"
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def _ends_of(ds: xr.Dataset, dim: str) -> tuple[xr.DataArray, xr.DataArray, str]:
    v = done(ds, "knn_final")
    lo, hi = v.isel({dim: 0}), v.isel({dim: -1})
    return lo, hi, f"{dim} {ds[dim].values[0]}: {per_seed(lo)}, {dim} {ds[dim].values[-1]}: {per_seed(hi)}"


def judge_f8(ds: xr.Dataset) -> Judgement:
    lo, hi, number = _ends_of(ds.sortby("projector_width"), "projector_width")
    ok = hi >= lo
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def judge_f9(ds: xr.Dataset) -> Judgement:
    # 0 = one class per sample, the most classes: order it last
    order = sorted(ds["label_classes"].values, key=lambda c: np.inf if c == 0 else c)
    lo, hi, number = _ends_of(ds.sel(label_classes=order), "label_classes")
    ok = hi > lo
    return Judgement(number.replace("label_classes 0", "per sample"), all_seeds(ok), seeds_failing(ok))


def _with_without(ds: xr.Dataset, var: str) -> tuple[xr.DataArray, xr.DataArray]:
    names = [str(n) for n in ds["setting_name"].values]
    with_da = [i for i, n in enumerate(names) if not n.startswith(("without", "no "))][0]
    without = [i for i, n in enumerate(names) if n.startswith(("without", "no "))][0]
    v = done(ds, var).sel(label_noise=1.0)
    return v.isel(setting=with_da), v.isel(setting=without)


def judge_f10(ds: xr.Dataset) -> Judgement:
    da, no = _with_without(ds, "knn_transfer")
    da0, no0 = _with_without(ds, "knn_transfer_init")
    ok = (da > da0).all("target") & (no < no0).all("target")
    number = (
        f"at 100% noise, transfer probe with DA {per_seed(da.mean('target'))}, "
        f"without {per_seed(no.mean('target'))}, init {per_seed(da0.mean('target'))} (mean over targets)"
    )
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def judge_f11(ds: xr.Dataset) -> Judgement:
    end, init = end_and_init(ds, "knn_accuracy")
    hi, lo = end.sel(label_noise=1.0), end.sel(label_noise=0.0)
    fit = done(ds, "train_accuracy_final").sel(label_noise=1.0)
    ok = (fit >= FIT) & (hi > init.sel(label_noise=1.0)) & (lo >= hi)
    number = (
        f"final k-NN at 0% noise {per_seed(lo)}, at 100% {per_seed(hi)}"
        f" (init {per_seed(init.sel(label_noise=1.0))}, fit {per_seed(fit, 2)})"
    )
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def judge_f12(ds: xr.Dataset) -> Judgement:
    lo, hi, number = _ends_of(ds.sortby("randaugment"), "randaugment")
    ok = hi > lo
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def judge_f13(ds: xr.Dataset) -> Judgement:
    da, no = _with_without(ds, "knn_final")
    init, _ = _with_without(ds, "knn_init")
    fda, fno = _with_without(ds, "train_accuracy_final")
    ok = (fda >= FIT) & (da > init) & (fno >= FIT) & (no < init)
    number = (
        f"at 100% noise: with DA {per_seed(da)} (fit {per_seed(fda, 2)}), without {per_seed(no)} "
        f"(fit {per_seed(fno, 2)}), init {per_seed(init)}"
    )
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def judge_f14(ds: xr.Dataset) -> Judgement:
    from benign.plots.benign_gain import benign_gains

    g = benign_gains(ds)
    mem, beyond = g["memorised_B1"], g["beyond_capacity"]
    ok = (mem <= 0.02) & (beyond > 0)
    number = f"gain over init, memorised B = 1 cells {per_seed(mem, signed=True)}; n*B > 10 C_t {per_seed(beyond, signed=True)}"
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def judge_nb(ds: xr.Dataset) -> Judgement:
    gain = done(ds, "knn_final") - done(ds, "knn_init")
    fit = done(ds, "bank_fit")
    top = gain.sel(B=ds["B"].values.max())
    memorised = gain.where(fit >= FIT)
    ok = (top > 0).all("n") & ~(memorised > 0).any(["n", "B"])
    number = (
        f"gain at B = {ds['B'].values.max()}: {float(top.min()):+.3f} to {float(top.max()):+.3f}; "
        f"memorised cells (views fitted >= 99%): {int(memorised.count())}, gain at most {float(memorised.max()):+.3f}"
    )
    return Judgement(number, all_seeds(ok), seeds_failing(ok))


def judge_p2(ds: xr.Dataset) -> Judgement:
    from benign.empirical.profiles.summary import mae_table

    rows = [r for r in mae_table(ds) if r["at"] == "mean~0.5" and np.isfinite(r["mae_nm"])]
    ratio = {r["method"].lower(): r["mae_nm"] / r["floor_nm"] for r in rows}  # the modes' names: simclr, ...
    if not {"simclr", "supervised"} <= set(ratio):
        return Judgement("SimCLR or supervised did not reach mean p_t 0.5", False, "not reached")
    ok = min(ratio, key=ratio.get) == "simclr" and max(ratio, key=ratio.get) == "supervised"
    number = "MAE / floor at mean p_t 0.5 (trials N M): " + ", ".join(
        f"{m} {v:.1f}" for m, v in ratio.items()
    )
    return Judgement(number, ok, "" if ok else "order differs")


def _top_decile_share(ds: xr.Dataset) -> tuple[float, float]:
    trained = ds["trained"].values.astype(bool)
    score, corrupted = ds["score"].values[trained], ds["corrupted"].values.astype(bool)[trained]
    top = np.argsort(-score, kind="stable")[: max(1, len(score) // 10)]
    return float(corrupted[top].mean()), float(corrupted.mean())


def judge_s(vgg: xr.Dataset, mlp: xr.Dataset) -> Judgement:
    shares = {name: _top_decile_share(d) for name, d in (("VGG-11", vgg), ("MLP", mlp))}
    ok = all(top >= 2 * chance for top, chance in shares.values())
    number = ", ".join(
        f"{n}: corrupted share of the top decile {t:.3f} (chance {c:.3f})" for n, (t, c) in shares.items()
    )
    return Judgement(number, ok, "" if ok else "below twice chance")


PEAK_DROP = 0.02  # S10: a noisy pool's test accuracy ends at least this far below its peak ...
END_EPOCHS = 5  # ... averaged over the last epochs (one epoch's accuracy swings with the step size)


def judge_s10(ds: xr.Dataset) -> Judgement:
    """Companion 3, appendix E: the fit slows as corruption grows (the mean training accuracy over the
    epochs falls, level by level), and a partly corrupted pool's test accuracy peaks, then drops."""
    dim = "corrupt" if "corrupt" in ds.dims else "corrupt_fraction"
    levels = ds[dim].values
    fit = done(ds, "accuracy_seen").isel(epoch=slice(1, None)).mean("epoch")  # area under the curve
    test = done(ds, "test_accuracy")
    end = test.isel(epoch=slice(-END_EPOCHS, None)).mean("epoch")
    drop = test.max("epoch") - end
    slower = all_seeds((fit.diff(dim) < 0).all(dim))
    noisy = [v for v in levels if 0 < v < (1.0 if dim == "corrupt_fraction" else np.inf)]
    peaked = all_seeds((drop.sel({dim: noisy}) >= PEAK_DROP).all(dim)) if noisy else False
    first_half = test.isel(epoch=slice(1, test.sizes["epoch"] // 2 + 1))
    number = (
        "mean training accuracy over the epochs "
        + ", ".join(f"{v:g}: {per_seed(fit.sel({dim: v}))}" for v in levels)
        + f"; test accuracy, peak of the first half / lowest / mean of the last {END_EPOCHS} epochs "
        + ", ".join(
            f"{v:g}: {per_seed(first_half.sel({dim: v}).max('epoch'))} / "
            f"{per_seed(test.sel({dim: v}).isel(epoch=slice(1, None)).min('epoch'))} / {per_seed(end.sel({dim: v}))}"
            for v in noisy
        )
    )
    if not slower:
        why = "the fit does not slow"
    elif not peaked:
        recovered = [f"{v:g}" for v in noisy if not bool((drop.sel({dim: v}) >= PEAK_DROP).all())]
        why = f"no lasting drop at {', '.join(recovered)}: the test accuracy dips, then recovers"
    else:
        why = ""
    return Judgement(number, slower and peaked, why)


def judge_sslmem(ds: xr.Dataset) -> Judgement:
    from benign.plots.memorization_scores import known_answer
    from benign.theory.memorization_scores import auroc

    scores, outlier = known_answer(ds, "sslmem_score")
    area = auroc(scores, outlier)
    models = int(done(ds, "knn_final").notnull().sum())
    number = (
        f"AUROC {area:.3f} over {models} SimCLR models, {int(outlier.sum())} of {len(scores)} examples "
        f"injected; mean score injected {scores[outlier].mean():.3f}, the data's own {scores[~outlier].mean():.3f}"
    )
    return Judgement(number, area >= 0.8, "" if area >= 0.8 else "AUROC below 0.8")


def judge_fz(ds: xr.Dataset) -> Judgement:
    from benign.plots.memorization_scores import known_answer
    from benign.theory.memorization_scores import auroc

    scores, mislabelled = known_answer(ds)
    area = auroc(scores, mislabelled)
    fit = done(ds, "train_accuracy_final")
    models = int(fit.notnull().sum())
    ok = area >= 0.8 and all_seeds(fit >= FIT)
    number = (
        f"AUROC {area:.3f} over {models} models, {int(mislabelled.sum())} of {len(scores)} examples mislabelled; "
        f"mean score mislabelled {scores[mislabelled].mean():.2f}, correct {scores[~mislabelled].mean():.2f}; "
        f"every model fits {float(fit.min()):.2f}+ of its labels"
    )
    return Judgement(
        number, ok, "" if ok else ("AUROC below 0.8" if area < 0.8 else seeds_failing(fit >= FIT))
    )


UNIT_LAYER = "embedding"  # the encoder's last layer: where Wang et al. (2024) find UnitMem highest
UNIT_ENRICHMENT = 2.0  # as claim S: the planted examples at least twice as often as their share


def judge_um(fz: xr.Dataset, ssl: xr.Dataset) -> Judgement:
    from benign.plots.unit_selection import selection_shares

    parts, failing = [], []
    for name, ds in (("wrong labels (fz)", fz), ("injected outliers (sslmem)", ssl)):
        every, s = selection_shares(ds, distinct=False), selection_shares(ds)
        share = every["top"][0][every["layers"].index(UNIT_LAYER)]
        at = share / every["base"]
        by_layer = ", ".join(f"{n} {r / s['base']:.1f}x" for n, r in zip(s["layers"], s["top"][0]))
        parts.append(
            f"{name}, {s['models']} models: {UNIT_LAYER} {share:.3f} against {s['base']:.3f} ({at:.1f}x); "
            f"by layer {by_layer}"
        )
        if not at >= UNIT_ENRICHMENT:
            failing.append(f"{name.split(' (')[0]} {at:.1f}x")
    why = "" if not failing else f"below {UNIT_ENRICHMENT:g}x at the {UNIT_LAYER}: {', '.join(failing)}"
    return Judgement("top-decile units' selective examples planted: " + "; ".join(parts), not failing, why)


CLAIMS = (
    Claim(
        "T1",
        "Random labels without augmentation destroy the deep layers' features: the k-NN probe drops below "
        "initialisation, more with depth.",
        "ResNet18, CIFAR-10: embedding 40.2 -> 12.4, layer 1 36.9 -> 34.3",
        f"random labels fitted >= {FIT:.0%}; embedding probe at the end below init; its drop larger than the first layer's",
        ("table1",),
        judge_t1,
    ),
    Claim(
        "T2",
        "Random labels with augmentation are memorised benignly (probe above initialisation), without augmentation malignly.",
        "ResNet18, CIFAR-10: random 12.4, random+DA 76.2, clean 83.6, clean+DA 91.3, init 40.6",
        f"each seed: random fits >= {FIT:.0%} and probes below init; random+DA fits >= {FIT:.0%} and probes "
        f">= init + {MARGIN}; clean+DA highest",
        ("table2",),
        judge_t2,
    ),
    Claim(
        "T3",
        "I.i.d. same-class 'augmentations' do not help random labels, real augmentations do.",
        "ResNet18, CIFAR-10, 1000 images: random 11.4, random+iid 12.4, random+DA 54.7, clean 36.8, clean+iid 82.7",
        f"random+DA >= random+iid DA + {MARGIN}; clean+iid DA > clean",
        ("table3",),
        judge_t3,
    ),
    Claim(
        "T4",
        "The same holds for a linear probe.",
        "ResNet18, CIFAR-10: random 29.8, random+DA 77.0, clean 83.9, clean+DA 92.5, init 43.8",
        f"linear probe: random fits >= {FIT:.0%} and is below init; random+DA fits >= {FIT:.0%} and is above "
        f"init; clean+DA highest",
        ("table4",),
        judge_t4,
    ),
    Claim(
        "F3",
        "Fitting random labels without augmentation is not much slower than fitting clean labels.",
        "ResNet18, CIFAR-10: both within about 12000 steps",
        "random labels reach 99% fitted within 3x the time clean labels take",
        ("fig3",),
        judge_f3,
    ),
    Claim(
        "F4",
        "Features in the encoder, memorization in the projector: the clean probe peaks at the embedding, the "
        "random-label probe rises at the projector.",
        "ResNet18, CIFAR-10: embedding 76% clean; projector near chance on clean labels",
        "random+DA fits >= 99%; clean probe at the embedding above init and above the output's; random-label "
        "probe higher at the output than at the embedding",
        ("fig4",),
        judge_f4,
    ),
    Claim(
        "F6",
        "More label-preserving augmentations lift the probe; augmentations with random labels of their own "
        "become impossible to fit.",
        "ResNet18, CIFAR-10: qualitative (figure 6)",
        "label-preserving bank: k-NN at the largest B above B = 1; random per view: share fitted falls from "
        "B = 1 to the largest B",
        ("fig6",),
        judge_f6,
    ),
    Claim(
        "F7",
        "Random labels with augmentation make the embedding invariant to the augmentations.",
        "ResNet18, CIFAR-10: qualitative (figure 7)",
        "normalized invariance of the embedding at the end lower with DA than without (random labels)",
        ("fig7",),
        judge_f7,
    ),
    Claim(
        "F8",
        "A wider projector gives a better embedding.",
        "ResNet18, CIFAR-10: rising with width (figure 8)",
        "k-NN at the widest projector >= at the narrowest",
        ("fig8",),
        judge_f8,
    ),
    Claim(
        "F9",
        "More random classes (less noisy assignments) give a better embedding.",
        "ResNet18, CIFAR-10: rising with the classes (figure 9)",
        "k-NN with one class per sample above the fewest classes",
        ("fig9",),
        judge_f9,
    ),
    Claim(
        "F10",
        "Features learnt on random labels with augmentation transfer to other datasets.",
        "CIFAR-10 -> CIFAR-100, STL-10 (figure 10)",
        "at 100% noise the transfer probe is above its init with DA and below without, every target",
        ("fig10",),
        judge_f10,
    ),
    Claim(
        "F11",
        "With augmentation the probe rises during training even at 100% label noise.",
        "CIFAR-10, TinyImageNet (figure 11)",
        f"at 100% noise fits >= {FIT:.0%} and ends above init; 0% noise ends at least as high",
        ("fig11",),
        judge_f11,
    ),
    Claim(
        "F12",
        "Stronger augmentation gives a better embedding under random labels.",
        "RandAugment strength 1..7 (figure 12)",
        "k-NN at the strongest level above the weakest",
        ("fig12",),
        judge_f12,
    ),
    Claim(
        "F13",
        "Under complete label noise augmentation keeps the probe above initialisation; without it the probe falls below.",
        "CIFAR-10: with DA strongly non-trivial, without DA near chance at 100% (figure 13)",
        f"at 100% noise: with DA fits >= {FIT:.0%} and above init; without DA fits >= {FIT:.0%} and below init",
        ("fig13",),
        judge_f13,
    ),
    Claim(
        "F14",
        "Toy (appendix E): memorised cells at B = 1 stay at initialisation, cells with n B far beyond capacity beat it.",
        "qualitative heatmap (figure 14)",
        "mean gain of memorised B = 1 cells <= +0.02; of cells n B > 10 C_t > 0",
        ("fig14",),
        judge_f14,
    ),
    Claim(
        "NB",
        "On a real network, n B beyond the capacity C_t is what makes memorization benign.",
        "the toy's figure 14 on real data (section 5.1)",
        "every cell at the largest B above init; no memorised cell (views fitted >= 99%) above init",
        ("nb",),
        judge_nb,
    ),
    Claim(
        "P2",
        "SimCLR's memorization profile is the closest to binomial noise, supervised training's the farthest.",
        "companion 2, figure 2",
        "MAE / floor with trials N x M at mean p_t 0.5: SimCLR lowest, supervised highest",
        ("profiles",),
        judge_p2,
    ),
    Claim(
        "S",
        "Turn-over dropout scores rank the corrupted (random-label) examples highest.",
        "companion 3, figure 2b",
        "corrupted share of the top decile of scores at least twice their share of the pool, VGG-11 and MLP",
        ("memscore", "memscore-mlp"),
        judge_s,
    ),
    Claim(
        "S10",
        "The more labels are corrupted, the slower the fit; with noise the test accuracy peaks, then drops.",
        "companion 3, figure 10 (VGG-11, CIFAR-10, 0 to 50000 random labels)",
        "mean training accuracy over the epochs falls at each step up in corruption; at every level "
        f"strictly between none and all, the test accuracy over the last {END_EPOCHS} epochs is >= "
        f"{PEAK_DROP} below its peak",
        ("corruption",),
        judge_s10,
    ),
    Claim(
        "FZ",
        "Feldman-Zhang memorization scores find examples known to be memorised: injected wrong labels.",
        "Feldman & Zhang (NeurIPS 2020): mislabelled examples score highest",
        f"models on random halves of a pool with 20% random labels, each fitting >= {FIT:.0%}: AUROC of the "
        "score for the mislabelled >= 0.8",
        ("fz",),
        judge_fz,
    ),
    Claim(
        "SSL",
        "SSLMem finds examples known to be memorised by SimCLR encoders: injected outlier images.",
        "Wang et al. (ICLR 2024): atypical examples have the highest SSLMem",
        "SimCLR models on random halves of a pool with 5% images of another dataset: AUROC of the score "
        "for the injected >= 0.8",
        ("sslmem",),
        judge_sslmem,
    ),
    Claim(
        "UM",
        "The most memorising units by UnitMem select the examples known to be memorised.",
        "Wang et al. (NeurIPS 2024): atypical (outlier) examples cause much higher unit memorization; "
        "memorization rises with depth",
        f"share of planted examples among the selective examples of the top decile of units by UnitMem, "
        f"at the {UNIT_LAYER}, >= {UNIT_ENRICHMENT:g}x their share of the training examples: wrong labels "
        "(supervised models of FZ) and injected outliers (SimCLR encoders of SSL)",
        ("fz", "sslmem"),
        judge_um,
    ),
)
IDS = tuple(c.id for c in CLAIMS)


def scoreboard(results: str | Path, scale: str = "cpu") -> list[Row]:
    """One Row per claim. ClaimsError when a file is there but unreadable."""
    results = Path(results)
    rows = []
    for c in CLAIMS:
        sources, missing = [], []
        for stem in c.sources:
            ds, why = read_source(results, stem, scale)
            sources.append(ds)
            if ds is None:
                missing.append(why)
        if missing:
            rows.append(Row(c.id, c.claim, c.paper, c.criterion, "–", "not run", "; ".join(missing)))
            continue
        try:
            j = c.judge(*sources)
        except (KeyError, ValueError, IndexError) as e:  # a file of the preset without what the claim reads
            rows.append(Row(c.id, c.claim, c.paper, c.criterion, "–", "not run", f"cannot judge: {e}"))
            continue
        rows.append(
            Row(
                c.id,
                c.claim,
                c.paper,
                c.criterion,
                f"{scale}: {j.number}",
                "holds" if j.holds else "fails",
                j.why,
            )
        )
    return rows


def markdown(rows: list[Row]) -> str:
    head = "| id | claim | paper | criterion | project | verdict |\n|---|---|---|---|---|---|\n"
    cell = lambda s: str(s).replace("|", "/")  # noqa: E731
    lines = [
        f"| {r.id} | {cell(r.claim)} | {cell(r.paper)} | {cell(r.criterion)} | {cell(r.project)} | "
        f"**{r.verdict}**{' (' + cell(r.why) + ')' if r.why else ''} |"
        for r in rows
    ]
    counts = ", ".join(f"{sum(r.verdict == v for r in rows)} {v}" for v in VERDICTS)
    return head + "\n".join(lines) + f"\n\n{counts}.\n"


README_MARKERS = ("<!-- claims:begin -->", "<!-- claims:end -->")


def readme_block(text: str) -> str:
    """The scoreboard pasted in a README between README_MARKERS ('' when there is none)."""
    begin, end = README_MARKERS
    if begin not in text or end not in text:
        return ""
    return text.split(begin, 1)[1].split(end, 1)[0].strip()


def with_readme_block(text: str, rows: list[Row]) -> str:
    """`text` with the scoreboard between README_MARKERS replaced by `rows`."""
    begin, end = README_MARKERS
    head, rest = text.split(begin, 1)
    return f"{head}{begin}\n{markdown(rows).strip()}\n{end}{rest.split(end, 1)[1]}"
