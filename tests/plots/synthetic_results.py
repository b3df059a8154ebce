"""Small synthetic result files of every format `benign plot` draws (the toy grid of figure 14, the
training grids of figures 4-13 and tables 2-4), built here so the plot tests need no training."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

LAYERS = ["layer1", "layer2", "layer3", "layer4", "embedding", "projector_hidden", "output"]


def attrs(name, units="1"):
    return {"long_name": name, "units": units}


def toy_grid(
    n=(5, 10, 20),
    B=(1, 4, 16),
    seeds=2,
    extra: dict | None = None,
    capacity=(12.0, 13.0),
    rng=0,
) -> xr.Dataset:
    """A toy grid over (n, B, *extra, seed); capacity a (lower, upper) pair or None."""
    rng = np.random.default_rng(rng)
    extra = extra or {}
    coords = {
        "n": list(n),
        "B": list(B),
        **{k: list(v) for k, v in extra.items()},
        "seed": list(range(seeds)),
    }
    dims = list(coords)
    shape = [len(v) for v in coords.values()]
    data = {
        v: (dims, rng.uniform(0.2, 1.0, shape), attrs(v))
        for v in (
            "knn_acc",
            "knn_acc_init",
            "mem_frac",
            "aug_mem_frac",
            "final_loss",
            "noise_energy",
            "invariance",
        )
    }
    data["status"] = (dims, np.ones(shape, dtype=np.int8), attrs("cell status"))
    if capacity is not None:
        data["capacity_lower"] = ((), capacity[0], attrs("capacity, lower end"))
        data["capacity_upper"] = ((), capacity[1], attrs("capacity, upper end"))
    config = {"kind": "toy", "params": {"C": 5, "K": 32}, "seeds": list(range(seeds))}
    head = {"title": "benign grid", "grid_kind": "toy", "grid_name": "fig14"}
    return xr.Dataset(data, coords=coords, attrs={**head, "config_json": json.dumps(config)})


def planted_collapse(rng=0) -> xr.Dataset:
    """A toy grid sweeping K, whose capacity C_t = 4 K, with accuracy a smooth increasing function of
    n*B / C_t exactly (every seed the same): a perfect collapse against n*B / C_t, none against n*B."""
    K = np.array([2, 8, 32])
    ds = toy_grid(n=(5, 10, 20, 40), B=(1, 2, 4, 8, 16), seeds=2, extra={"K": K}, capacity=None, rng=rng)
    lower = xr.DataArray(4.0 * K, coords={"K": K}, dims="K")
    ds["capacity_lower"], ds["capacity_upper"] = lower - 1, lower + 1
    x = (ds["n"] * ds["B"] / lower).broadcast_like(ds["knn_acc"])
    ds["knn_acc"] = (0.2 + 0.7 * x / (1 + x)).transpose(*ds["knn_acc"].dims).assign_attrs(attrs("knn_acc"))
    return ds


def train_grid(
    name: str, swept: dict, seeds=3, epochs=(0.0, 5.0, 10.0), layers=False, targets=(), rng=0
) -> xr.Dataset:
    """A training grid: swept = {dim: numeric values, or a list of strings (integer coordinate plus
    `<dim>_name`)}; per-epoch curves, final values, optional per-layer probes and transfer probes."""
    rng = np.random.default_rng(rng)
    coords, names = {}, {}
    for dim, values in swept.items():
        if isinstance(values[0], str):
            coords[dim] = np.arange(len(values))
            names[f"{dim}_name"] = (dim, np.array(values, dtype=object))
        else:
            coords[dim] = np.asarray(values)
    coords["seed"] = np.arange(seeds)
    cell_dims = list(coords)
    cell_shape = [len(v) for v in coords.values()]
    ep = np.asarray(epochs, dtype=float)
    data = {
        "train_loss": (
            [*cell_dims, "epoch"],
            rng.uniform(0, 1, [*cell_shape, len(ep)]),
            attrs("training loss"),
        ),
        "train_accuracy": (
            [*cell_dims, "epoch"],
            rng.uniform(0, 1, [*cell_shape, len(ep)]),
            attrs("training accuracy"),
        ),
        "knn_accuracy": (
            [*cell_dims, "epoch"],
            rng.uniform(0.1, 0.9, [*cell_shape, len(ep)]),
            attrs("k-NN accuracy"),
        ),
        "status": (cell_dims, np.ones(cell_shape, dtype=np.int8), attrs("cell status")),
        "error": (cell_dims, np.full(cell_shape, "", dtype=object), attrs("error")),
    }
    for v in ("knn_final", "linear_final", "knn_init", "linear_init", "train_accuracy_final"):
        data[v] = (cell_dims, rng.uniform(0.1, 0.9, cell_shape), attrs(v))
    extra_coords = {"epoch": ep, **names}
    if layers:
        shape = [*cell_shape, len(ep), len(LAYERS)]
        for v in ("knn_clean", "knn_noisy", "invariance"):
            data[v] = ([*cell_dims, "epoch", "layer"], rng.uniform(0.1, 0.9, shape), attrs(v))
        extra_coords["layer"] = np.arange(len(LAYERS))
        extra_coords["layer_name"] = ("layer", np.array(LAYERS, dtype=object))
    if targets:
        for v in ("knn_transfer", "knn_transfer_init"):
            data[v] = ([*cell_dims, "target"], rng.uniform(0.1, 0.9, [*cell_shape, len(targets)]), attrs(v))
        extra_coords["target"] = np.arange(len(targets))
        extra_coords["target_name"] = ("target", np.array(targets, dtype=object))
    return xr.Dataset(
        data,
        coords={**coords, **extra_coords},
        attrs={
            "title": "benign grid",
            "grid_kind": "train",
            "grid_name": name,
            "random_guessing": 0.1,
            "config_json": json.dumps({"kind": "train"}),
        },
    )


SETTINGS = ["random", "random+DA", "clean", "clean+DA"]

# One grid per figure or table of the paper, shaped as the presets make them.
PAPER_GRIDS = {
    "fig4": lambda: train_grid("fig4", {}, layers=True),
    "fig6": lambda: train_grid("fig6", {"bank": [1, 4, 16, 64], "bank_labels": ["image", "random"]}),
    "fig7": lambda: train_grid("fig7", {"setting": SETTINGS}, layers=True),
    "fig8": lambda: train_grid("fig8", {"projector_width": [64, 256, 1024]}),
    "fig9": lambda: train_grid("fig9", {"label_classes": [2, 10, 0]}),
    "fig10": lambda: train_grid(
        "fig10",
        {"label_noise": [0.0, 0.5, 1.0], "setting": ["no augmentations", "augmentations"]},
        targets=["cifar100", "stl10"],
    ),
    "fig11": lambda: train_grid(
        "fig11", {"dataset": ["cifar10", "tinyimagenet"], "label_noise": [0.6, 0.9, 1.0]}
    ),
    "fig12": lambda: train_grid("fig12", {"randaugment": [1, 4, 7]}),
    "fig13": lambda: train_grid(
        "fig13", {"setting": ["random", "random+DA"], "label_noise": [0.0, 0.5, 1.0]}
    ),
    "table2": lambda: train_grid("table2", {"setting": SETTINGS, "arch": ["resnet18", "vgg11"]}),
    "table3": lambda: train_grid("table3", {"setting": SETTINGS}),
    "table4": lambda: train_grid("table4", {"setting": SETTINGS}),
}
