"""Training cells that two grids of one report share are trained once.

Table 2's clean and random cells are figure 13's cells at label noise 0 and 1: `noise:0` relabels no
image and `noise:1` every image with the same counter-based draw as `random` (empirical/labels.py),
so the runs agree to the last bit. A cell is named by `cell_key`, a hash of everything that decides
its results: its TrainConfig (labels in canonical form, without where it writes or reads), the
probes it runs and the points of its learning curve. A finished cell's results are kept in
DIR/<key>.npz; a grid run with the same DIR records a cell found there instead of training it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from pathlib import Path

import numpy as np

from benign.empirical.labels import parse_labels
from benign.grids.train_cells import ADDED_LATER, curve_axis, train_config

# Where a run writes and reads, and how it is checkpointed: not what it computes (torch.compile may
# change the last bits, so `compile` stays in the key).
NOT_DECIDING = ("out", "data_root", "download", "checkpoint_every")
PROBES = ("layer_probes", "linear_probe", "transfer", "transfer_subset")


def canonical_labels(spec: str, num_classes: int | None = None) -> str:
    """noise:0 is the clean labels and noise:1 the random ones, and classes:C on a dataset of C classes
    the random ones (empirical.labels.make_labels draws them alike)."""
    labels = parse_labels(spec)
    if labels.kind == "noise" and labels.fraction in (0.0, 1.0):
        return "clean" if labels.fraction == 0.0 else "random"
    if labels.kind == "classes" and num_classes is not None and labels.classes == num_classes:
        return "random"
    return str(labels)


def cell_key(params: dict, seed: int) -> str:
    """The name of a training cell's results: equal exactly for cells that compute the same thing."""
    cfg = dataclasses.asdict(train_config(params, seed=seed, out="-"))
    for name in NOT_DECIDING:
        cfg.pop(name)
    for name, neutral in ADDED_LATER.items():  # the key of a cell from before them
        if cfg.get(name) == neutral:
            cfg.pop(name)
    cfg["labels"] = canonical_labels(cfg["labels"], _classes(cfg))
    what = {
        "config": cfg,
        "probes": {k: params.get(k) for k in PROBES},
        "curve": curve_axis(params),
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _classes(cfg: dict) -> int | None:
    from benign.empirical.datasets import num_classes_of

    try:
        return num_classes_of(cfg["dataset"], cfg.get("image_size", 0))
    except (ValueError, OSError):
        return None


def load_cell(folder: Path, key: str) -> dict | None:
    """The results kept under `key`, or None."""
    path = Path(folder) / f"{key}.npz"
    if not path.is_file():
        return None
    with np.load(path) as f:
        return {k: (f[k].item() if f[k].ndim == 0 else f[k]) for k in f.files}


def save_cell(folder: Path, key: str, results: dict) -> None:
    from benign.store.atomic import atomic_write

    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v, dtype=float) for k, v in results.items()})
    atomic_write(Path(folder) / f"{key}.npz", lambda tmp: tmp.write_bytes(buffer.getvalue()))
