"""From a result file to profiles and the MAE table (methods against binomial noise)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from benign.empirical.profiles.binomial import THRESHOLDS, align_epochs, augmentation_variance, compare
from benign.empirical.profiles.modes import mode_names


def views(ds: xr.Dataset, method) -> int:
    """How many views one (network, augmentation) trial scores: `recognised` counts the views
    recognised, 2 for SimCLR scored in both directions, else 1 (and in files that predate it)."""
    if "views" not in ds:
        return 1
    return int(ds["views"].sel({"method": method}).item())


def done(ds: xr.Dataset, method) -> np.ndarray:
    """(seed, epoch, augmentation, example) shares in [0, 1] of the finished networks of a method:
    the share of a trial's views that recognised the example."""
    sel = ds.sel({"method": method})
    ok = sel["status"].values == 1
    return sel["recognised"].values[ok] / views(ds, method)


def coins_per_network(ds: xr.Dataset, method) -> int:
    """The independent coins one network contributes to p_t(x) under the homogeneous null (trials =
    N x this in the N*M comparison): its distinct augmentations. A mode without augmentation scores
    the same image M times, one coin; SimCLR's two recognition directions of one pair of views are
    one coin too, not two (they share the pair)."""
    from benign.empirical.profiles.modes import BY_CODE

    mode = BY_CODE.get(int(method))
    return 1 if mode is not None and mode.augment == "none" else ds.sizes["augmentation"]


def profiles(ds: xr.Dataset, method) -> tuple[np.ndarray, np.ndarray]:
    """p_t(x) (epoch, example) and p_t(x~) (epoch, augmentation, example) over the finished seeds."""
    r = done(ds, method).astype(np.float64)
    if r.shape[0] == 0:
        raise ValueError(f"no finished network for method {method}")
    return r.mean(axis=(0, 2)), r.mean(axis=0)


NAN_STATS = dict(
    p_hat=np.nan,
    mae=np.nan,
    floor=np.nan,
    chi2_p=np.nan,
    mae_nm=np.nan,
    floor_nm=np.nan,
    chi2_p_nm=np.nan,
    mae_fixed=np.nan,
    floor_fixed=np.nan,
    chi2_p_fixed=np.nan,
    aug_var=np.nan,
)


def mae_table(ds: xr.Dataset, draws: int = 20) -> list[dict]:
    """One row per (method, epoch choice): the final epoch and the epochs aligned at mean p_t
    0.25 / 0.5 / 0.75; MAE of p_t(x) against Bin(N, p_hat)/N (the paper's) and against
    Bin(N M, p_hat)/(N M) (exact under the homogeneous null, `binomial.calibration`), and of p_t(x~)
    (augmentation 0) against Bin(N, p_hat)/N.
    A threshold the method does not reach gets epoch NaN, NaN statistics and a `note`."""
    rows = []
    epochs = ds["epoch"].values
    for code, name in zip(ds["method"].values, mode_names(ds["method"].values)):
        r = done(ds, code)
        if r.shape[0] == 0:
            continue
        n = r.shape[0]
        p, pf = profiles(ds, code)
        mean_p = p.mean(1)
        aligned = align_epochs(mean_p, epochs)
        choices = [("final", epochs[-1])] + [(f"mean~{q:g}", e) for q, e in zip(THRESHOLDS, aligned)]
        for (label, e), q in zip(choices, (None, *THRESHOLDS)):
            if e is None:
                where = "never reached" if mean_p.max() < q else "already passed at the first epoch"
                rows.append(
                    {
                        "method": name,
                        "at": label,
                        "epoch": np.nan,
                        "networks": n,
                        **NAN_STATS,
                        "note": f"mean p_t {where} (range {mean_p.min():.3f}..{mean_p.max():.3f} "
                        f"over epochs {epochs[0]}..{epochs[-1]})",
                    }
                )
                continue
            t = int(np.where(epochs == e)[0][0])
            avg = compare(p[t], n, draws)
            avg_nm = compare(p[t], n * coins_per_network(ds, code), draws)
            fix = compare(pf[t, 0], n, draws)
            rows.append(
                {
                    "method": name,
                    "at": label,
                    "epoch": int(e),
                    "networks": n,
                    "p_hat": avg["p_hat"],
                    "mae": avg["mae"],
                    "floor": avg["floor"],
                    "chi2_p": avg["p_value"],
                    "mae_nm": avg_nm["mae"],
                    "floor_nm": avg_nm["floor"],
                    "chi2_p_nm": avg_nm["p_value"],
                    "mae_fixed": fix["mae"],
                    "floor_fixed": fix["floor"],
                    "chi2_p_fixed": fix["p_value"],
                    "aug_var": float(augmentation_variance(pf[t]).mean()),
                }
            )
    return rows


def format_alignment(rows: list[dict]) -> str:
    """Epochs aligned by mean p_t, one line per method; NaN and a reason where not reached."""
    lines = ["epochs aligned by mean p_t (section 4.2): " + ", ".join(f"{q:g}" for q in THRESHOLDS)]
    for name in dict.fromkeys(r["method"] for r in rows):
        cells, notes = [], []
        for r in rows:
            if r["method"] != name or not r["at"].startswith("mean~"):
                continue
            if np.isnan(r["epoch"]):
                cells.append(f"{r['at'][5:]}: NaN")
                notes.append(f"{r['at'][5:]} not reached: {r['note']}")
            else:
                cells.append(f"{r['at'][5:]}: epoch {r['epoch']} (mean p {r['p_hat']:.3f})")
        lines.append(f"  {name:<11} " + "; ".join(cells))
        lines += [f"  {'':<11} ! {n}" for n in notes]
    return "\n".join(lines)


def format_table(rows: list[dict]) -> str:
    """MAE and chi-square p against Bin(N)/N (the paper's), against Bin(NM)/(NM) (columns `NM`), and
    for the fixed augmentation (columns `~`)."""
    head = (
        f"{'method':<11} {'at':<9} {'epoch':>5} {'N':>3} {'p_hat':>6} {'MAE':>6} {'floor':>6} {'chi2 p':>8}"
        f" {'MAE NM':>6} {'flr NM':>6} {'p NM':>8}"
        f" {'MAE~':>6} {'floor~':>6} {'chi2 p~':>8} {'var~':>6}"
    )
    lines = [head]
    for r in rows:
        epoch = "NaN" if np.isnan(r["epoch"]) else str(r["epoch"])
        lines.append(
            f"{r['method']:<11} {r['at']:<9} {epoch:>5} {r['networks']:>3} {r['p_hat']:>6.3f} "
            f"{r['mae']:>6.3f} {r['floor']:>6.3f} {r['chi2_p']:>8.2g} "
            f"{r['mae_nm']:>6.3f} {r['floor_nm']:>6.3f} {r['chi2_p_nm']:>8.2g} {r['mae_fixed']:>6.3f} "
            f"{r['floor_fixed']:>6.3f} {r['chi2_p_fixed']:>8.2g} {r['aug_var']:>6.3f}"
        )
    return "\n".join(lines)
