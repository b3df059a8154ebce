"""The kinds of grid cell, in one registry: what a grid of each kind takes as parameters, how one of
its cells is checked before any work starts, the layout of its grid file, and whether it trains
networks on a dataset (which must be on disk, and which may take a GPU).

toy       figure 14's n x B cells of the Gaussian-mixture toy (grids/toy_cells.py)
train     training runs of the real network: tables 2-4, figures 3-13, n x B, FZ, SSLMem (train_cells.py)
capacity  the toy's capacity C_t against K and t (toy_cells.py)
memscore  turn-over dropout runs of companion 3: scores and learning curves (memscore_cells.py)
profiles  memorization profiles of companion 2: a network per (method, seed) (profiles_cells.py)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benign.grids import memscore_cells, profiles_cells, train_cells
from benign.grids.toy_cells import (
    CAPACITY_SWEEP_DEFAULTS,
    CAPACITY_SWEEP_NOT_SWEPT,
    CAPACITY_SWEEP_VARIABLES,
    TOY_DEFAULTS,
    TOY_NOT_SWEPT,
    TOY_VARIABLES,
    check_capacity_sweep,
    toy_models,
)


@dataclass(frozen=True)
class CellKind:
    defaults: dict  # every parameter with its default value
    not_swept: tuple[str, ...]  # parameters that take one value per grid
    check: Callable[[dict, int], None]  # (one cell's parameters, a seed): ValueError if it cannot run
    layout: Callable[[dict], tuple[dict, dict, dict]]  # params -> (variables, extra coordinates, labels)
    swept_strings: bool = False  # string parameters may be swept (coordinate 0..k-1 plus their names)
    trains: bool = False  # trains networks on a dataset: the data must be there; a GPU per cell


def _check_toy(params: dict, seed: int) -> None:
    toy_models({**params, "n": 1, "B": 1})


def _check_train(params: dict, seed: int) -> None:
    # the device is checked where the cell runs: the driver of a cluster may have no GPU
    train_cells.train_config({**params, "device": "cpu"}, seed=seed, out="-")


def _check_memscore(params: dict, seed: int) -> None:
    memscore_cells.check({**params, "device": "cpu"}, seed)


KINDS = {
    "toy": CellKind(TOY_DEFAULTS, TOY_NOT_SWEPT, _check_toy, lambda p: (dict(TOY_VARIABLES), {}, {})),
    "train": CellKind(
        train_cells.TRAIN_DEFAULTS,
        train_cells.TRAIN_NOT_SWEPT,
        _check_train,
        train_cells.layout,
        swept_strings=True,
        trains=True,
    ),
    "capacity": CellKind(
        CAPACITY_SWEEP_DEFAULTS,
        CAPACITY_SWEEP_NOT_SWEPT,
        lambda p, s: check_capacity_sweep(p),
        lambda p: (dict(CAPACITY_SWEEP_VARIABLES), {}, {}),
    ),
    "memscore": CellKind(
        memscore_cells.MEMSCORE_DEFAULTS,
        memscore_cells.MEMSCORE_NOT_SWEPT,
        _check_memscore,
        memscore_cells.layout,
        trains=True,
    ),
    "profiles": CellKind(
        profiles_cells.PROFILES_DEFAULTS,
        profiles_cells.PROFILES_NOT_SWEPT,
        profiles_cells.check,
        profiles_cells.layout,
        swept_strings=True,
        trains=True,
    ),
}
