"""Memorization-profile cells of a grid (companion 2): parameters, one block's run, and the profiles
file a grid collects to.

A cell is one (method, seed) network. The networks of a method train in fixed blocks of `block`
seeds (0: all of them) as one wide network (empirical/profiles/batched.py): a block is one task,
and the same seeds always share a block, so a retried cell trains with the partners it had (the
wide network's grouped convolutions sum in their own order: the bits depend on the block). The grid
file holds per cell `recognised` (epoch, augmentation, example) and `train_loss` (epoch); the
block holding a method's first seed also writes that network's embeddings and
activation-maximisation inputs to its folder, DIR/cells/method=<m>_block=<b>/extras.nc.

Collected, the grid is the profiles file `benign profiles plot` and the claims read (title
"memorization profiles"): method coordinates are the mode codes, examples their index in the
training split, with the profiled images, their labels and the views a trial scores.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np

from benign.empirical.profiles.modes import MODES, parse_modes
from benign.empirical.profiles.run import (
    COORD_ATTRS,
    TITLE,
    ProfileConfig,
    attrs_of,
    prepare,
    profile_constants,
    store_extras,
    train_chunk,
)

EXTRAS_FILE = "extras.nc"
# Not parameters of a grid: the methods are its `method` axis, the networks its seeds; the data
# folder is the machine's ($BENIGN_DATA_ROOT); max_batch is the grid's `block`.
NOT_PARAMETERS = ("methods", "networks", "seed", "data_root", "max_batch", "device")
PROFILES_DEFAULTS = {
    **{
        f.name: f.default
        for f in dataclasses.fields(ProfileConfig)
        if f.name not in NOT_PARAMETERS and f.default is not dataclasses.MISSING
    },
    "method": list(MODES),  # swept: the methods compared
    "block": 0,  # networks of a method trained as one wide network, per task (0: all); decides the bits
    "device": "auto",
}
# one grid = one profiles file: every parameter but the method is one value
PROFILES_NOT_SWEPT = tuple(k for k in PROFILES_DEFAULTS if k != "method")


def profile_config(params: dict, seeds: list[int], device: str = "cpu") -> ProfileConfig:
    """The ProfileConfig of a grid's networks at `seeds` (the methods: the grid's `method`)."""
    methods = params["method"] if isinstance(params["method"], list) else [params["method"]]
    p = {k: v for k, v in params.items() if k in PROFILES_DEFAULTS and k not in ("method", "block", "device")}
    cfg = ProfileConfig(
        **p,
        methods=list(methods),
        networks=len(seeds),
        seed=seeds[0],
        max_batch=params["block"],
        device=device,
    )
    cfg.validate()
    return cfg


def check(params: dict, seed: int) -> None:
    profile_config(params, [seed])
    if params["examples"] > params["train_size"] > 0:
        raise ValueError(
            f"--examples {params['examples']} exceeds the {params['train_size']} training images"
        )


def variables(params: dict) -> dict[str, dict]:
    return {
        "recognised": attrs_of(
            "views of the augmented example recognised (correct training label; SimCLR: the "
            "partner view is the arg-max of the 2B-1 in-batch candidates, see `views`), "
            "-1 not computed",
            flag_values=np.array([-1, 0, 1, 2], dtype=np.int8),
            dims=("epoch", "augmentation", "example"),
            dtype=np.int8,
            fill=-1,
        ),
        "train_loss": attrs_of(
            "mean training loss over the epoch (cross-entropy or NT-Xent)", "nat", dims=("epoch",)
        ),
    }


def layout(params: dict) -> tuple[dict, dict, dict]:
    """(variables, extra coordinates, labels) of a profiles grid's file: epoch 1..E, augmentation
    0..M-1, example: position 0..K-1 among the profiled images (their index in the training split is
    set at collect)."""
    extra = {
        "epoch": list(range(1, params["epochs"] + 1)),
        "augmentation": list(range(params["augmentations"])),
        "example": list(range(params["examples"])),
    }
    return variables(params), extra, {}


def blocks(seeds: list[int], block: int, cells: list[dict]) -> list[list[dict]]:
    """The cells to do, grouped by method and fixed block of seeds (position // block)."""
    size = block or len(seeds)
    groups: dict[tuple, list[dict]] = {}
    for cell in cells:
        key = (cell.get("method", 0), seeds.index(cell["seed"]) // size)
        groups.setdefault(key, []).append(cell)
    return list(groups.values())


def block_seeds(seeds: list[int], block: int, seed: int) -> list[int]:
    """Every seed of the block `seed` is in."""
    size = block or len(seeds)
    start = seeds.index(seed) // size * size
    return seeds[start : start + size]


def block_folder(cell: dict, seeds: list[int], block: int) -> str:
    size = block or len(seeds)
    return f"method={cell.get('method', 0)}_block={seeds.index(cell['seed']) // size}"


def run_block(params: dict, cells: list[dict], folder: str, on_step=None) -> list[dict]:
    """Worker side: train the whole block of the cells' seeds (params["seeds"]: the grid's seeds) and
    return the cells' results; the block with the grid's first seed writes its extras first."""
    from benign.store.netcdf import save_atomic
    from benign.theory.devices import resolve_device

    seeds = list(params["seeds"])
    method = params["method"]
    cfg = profile_config(params, seeds, str(resolve_device(params.get("device", "auto"))))
    trained = block_seeds(seeds, params["block"], cells[0]["seed"])
    positions = [s - cfg.seed for s in trained]  # train_chunk's networks are cfg.seed + position
    result = train_chunk(
        cfg, _prepared(json.dumps(dataclasses.asdict(cfg))), method, positions, on_step=on_step
    )
    if "extras" in result:
        import xarray as xr

        ex = result["extras"]
        ds = xr.Dataset({"embedding": (("example", "feature"), ex["embedding"])})
        if "actmax" in ex:
            ds["actmax"] = (("block", "unit", "channel", "y", "x"), ex["actmax"])
            ds["actmax_channel"] = (("block", "unit"), ex["actmax_channel"])
        Path(folder).mkdir(parents=True, exist_ok=True)
        save_atomic(ds, Path(folder) / EXTRAS_FILE)
    rows = [trained.index(c["seed"]) for c in cells]
    return [{"recognised": result["recognised"][j], "train_loss": result["train_loss"][j]} for j in rows]


@functools.lru_cache(maxsize=1)
def _prepared(cfg_json: str):
    """The data of a configuration, once per worker process."""
    import torch

    cfg = ProfileConfig(**json.loads(cfg_json))
    return prepare(cfg, torch.device(cfg.device))


def collect(grid, out_dir: Path, params: dict, seeds: list[int]):
    """The grid as the profiles file (empirical/profiles/run.py's layout)."""
    import torch

    from benign.store.netcdf import load_result

    if "method" not in grid.dims:
        grid = grid.expand_dims(method=[0]).assign_coords(method_name=("method", [params["method"]]))
        grid["status"] = grid["status"].transpose("method", ...)
    names = [str(n) for n in grid["method_name"].values]
    cfg = profile_config({**params, "method": names}, seeds)
    data = prepare(cfg, torch.device("cpu"))
    modes = parse_modes(",".join(names))
    codes = np.array([m.code for m in modes], dtype=np.int32)
    ds = grid.drop_vars(["method_name"]).assign_coords(
        method=codes, example=data.train_index[data.profiled].numpy().astype(np.int64)
    )
    ds["epoch"] = ds["epoch"].astype(np.int32)
    for name, value in profile_constants(cfg, data, modes).items():
        ds[name] = value
    for name, attrs in COORD_ATTRS.items():
        ds[name].attrs = attrs
    ds["method"].attrs = attrs_of(
        "training mode", flag_values=codes, flag_meanings=" ".join(m.name for m in modes)
    )
    for mi in range(len(names)):
        path = (
            Path(out_dir) / "cells" / block_folder({"method": mi, "seed": seeds[0]}, seeds, params["block"])
        )
        if (path / EXTRAS_FILE).is_file():
            ex = load_result(path / EXTRAS_FILE)
            ds = store_extras(ds, mi, {k: ex[k].values for k in ex.data_vars})
    ds.attrs.update(
        title=TITLE, config_json=json.dumps(cfg.identity()), num_classes=int(data.train.num_classes)
    )
    return ds
