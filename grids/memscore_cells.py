"""Turn-over dropout cells of a grid (companion 3): parameters, and one cell's run.

A cell is one `benign memscore run` (empirical/memscore/experiment.py) with its own seed (network,
masks, corruption and pool). Its whole result (scores of every example, influence, showcase,
gradient statistics: dimensions that depend on the data, so they cannot share a grid axis) is
written atomically to the cell's folder, DIR/cells/<cell>/run.nc; the grid file gets the
per-epoch curves, on the one epoch axis every cell has, and a few numbers of the scores:

  accuracy_seen / accuracy_muted / test_accuracy / train_loss (epoch)   figures 3 and 10
  accuracy_seen_corrupted / accuracy_seen_clean (epoch)                 the two subsets' fit
  score_mean_corrupted / score_mean_clean / top_decile_corrupted_share  figure 2 b, in numbers

A cell whose run.nc is written is not trained again (a driver that died before recording it).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from benign.empirical.memscore.experiment import TITLE, RunConfig, config_dict

RUN_FILE = "run.nc"
# Not parameters of a grid: the seed is the grid's, the data folder the machine's ($BENIGN_DATA_ROOT).
NOT_PARAMETERS = ("seed", "data_root")
MEMSCORE_DEFAULTS = {
    **{
        f.name: f.default
        for f in dataclasses.fields(RunConfig)
        if f.name not in NOT_PARAMETERS and f.default is not dataclasses.MISSING
    },
    "scores_from": "",  # a run whose scores define easy / difficult ("": none)
    "test_scores_from": "",  # a --split test run scoring the test examples ("": none)
    "milestones": "",  # comma-separated epochs where the learning rate is divided by 10 (a list sweeps)
    "device": "auto",
}
# one epoch axis per grid; the model and the data decide the shapes of a cell's files
MEMSCORE_NOT_SWEPT = ("epochs", "dataset", "model", "split", "device", "train_subset")

EPOCH_VARIABLES = {
    "accuracy_seen": {
        "long_name": "training accuracy of the seen sub-networks (training labels)",
        "units": "1",
    },
    "accuracy_muted": {
        "long_name": "training accuracy of the muted sub-networks (training labels)",
        "units": "1",
    },
    "accuracy_seen_corrupted": {
        "long_name": "training accuracy of the seen sub-networks on the corrupted examples",
        "units": "1",
    },
    "accuracy_seen_clean": {
        "long_name": "training accuracy of the seen sub-networks on the examples with their true label",
        "units": "1",
    },
    "test_accuracy": {"long_name": "test accuracy of the full network (no mask)", "units": "1"},
    "train_loss": {"long_name": "mean training loss over the epoch", "units": "1"},
}
FINAL_VARIABLES = {
    "score_mean_corrupted": {"long_name": "mean memorization score of the corrupted examples", "units": "1"},
    "score_mean_clean": {"long_name": "mean memorization score of the other examples", "units": "1"},
    "top_decile_corrupted_share": {
        "long_name": "share of corrupted examples among the top decile of scores",
        "units": "1",
    },
    "corrupted_share": {"long_name": "share of corrupted examples in the pool", "units": "1"},
    "train_time": {"long_name": "training wall time of the cell", "units": "s"},
}


def run_config(params: dict, seed: int, device: str = "cpu") -> RunConfig:
    """The RunConfig of one cell; ValueError (one line) on an impossible setting."""
    p = {k: v for k, v in params.items() if k in MEMSCORE_DEFAULTS and k not in ("device", "milestones")}
    text = str(params.get("milestones", "") or "")
    try:
        milestones = [int(m) for m in text.split(",") if m.strip()]
    except ValueError:
        raise ValueError(f"milestones must be comma-separated epochs, got {text!r}") from None
    for name in ("scores_from", "test_scores_from"):
        p[name] = p.get(name) or None
    cfg = RunConfig(**p, milestones=milestones, seed=seed, device=device)
    cfg.validate()
    return cfg


def check(params: dict, seed: int) -> None:
    """Every cell of a grid builds (before any work starts)."""
    run_config(params, seed)


def variables(params: dict) -> dict[str, dict]:
    """name -> attrs, with `dims` (the dimensions after the cell's own) for the grid file."""
    out = {k: {**a, "dims": ("epoch",)} for k, a in EPOCH_VARIABLES.items()}
    return {**out, **{k: {**a, "dims": ()} for k, a in FINAL_VARIABLES.items()}}


def layout(params: dict) -> tuple[dict, dict, dict]:
    """(variables, extra coordinates, labels) of a memscore grid's file: the epochs 0..E."""
    return variables(params), {"epoch": list(range(int(params["epochs"]) + 1))}, {}


def cell_folder(cell: dict) -> str:
    return "_".join(f"{k}={v}" for k, v in cell.items())


def run_memscore_cell(params: dict, seed: int, folder: str, on_step=None, on_epoch=None, log=None) -> dict:
    """Train one cell (or read the run.nc it wrote before) and return its grid variables."""
    from benign.store.netcdf import load_result, save_atomic
    from benign.theory.devices import resolve_device

    path = Path(folder) / RUN_FILE
    if path.is_file():
        ds = load_result(path, require_title=TITLE)
    else:
        cfg = run_config(params, seed, str(resolve_device(params.get("device", "auto"))))
        t0 = time.perf_counter()
        ds = run_and_label(cfg, on_step=on_step, on_epoch=on_epoch, log=log or (lambda *a, **k: None))
        ds.attrs["train_time_s"] = time.perf_counter() - t0
        path.parent.mkdir(parents=True, exist_ok=True)
        save_atomic(ds, path)
    return grid_values(ds)


def run_and_label(cfg: RunConfig, **hooks):
    """experiment.run with the run's provenance (the RunConfig) on the Dataset."""
    from benign.empirical.memscore.experiment import run
    from benign.store.provenance import provenance_attrs

    ds = run(cfg, **hooks)
    ds.attrs.update(provenance_attrs(TITLE, config_dict(cfg)))
    return ds


def grid_values(ds) -> dict:
    """The grid file's numbers of one run's Dataset (every pool example counted, as `memscore run` does)."""
    corrupted = ds["corrupted"].values.astype(bool)
    trained = ds["trained"].values.astype(bool)
    seen = ds["correct_seen"].values.astype(float)  # (epoch, example)
    score = ds["score"].values

    def mean_over(mask):
        return seen[:, mask].mean(axis=1) if mask.any() else np.full(seen.shape[0], np.nan)

    top = score >= np.quantile(score, 0.9)
    out = {
        name: ds[name].values.astype(float) for name in ("accuracy_seen", "accuracy_muted", "test_accuracy")
    }
    out["train_loss"] = ds["train_loss"].values.astype(float)
    out["accuracy_seen_corrupted"] = mean_over(corrupted & trained)
    out["accuracy_seen_clean"] = mean_over(~corrupted & trained)
    out["score_mean_corrupted"] = float(score[corrupted].mean()) if corrupted.any() else np.nan
    out["score_mean_clean"] = float(score[~corrupted].mean()) if (~corrupted).any() else np.nan
    out["top_decile_corrupted_share"] = float(corrupted[top].mean())
    out["corrupted_share"] = float(corrupted.mean())
    out["train_time"] = float(ds.attrs.get("train_time_s", ds.attrs.get("wall_time_s", np.nan)))
    return out
