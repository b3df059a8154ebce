"""The kinds of grid cell, in one registry: what a grid of each kind takes as parameters and how one
of its cells is checked before any work starts.

toy       figure 14's n x B cells of the Gaussian-mixture toy (grids/toy_cells.py)
train     training runs of the real network: tables 2-4, figures 3-13, n x B, FZ, SSLMem (train_cells.py)
capacity  the toy's capacity C_t against K and t (toy_cells.py)
memscore  turn-over dropout runs of companion 3: scores and learning curves (memscore_cells.py)
profiles  memorization profiles of companion 2: a network per (method, seed) (profiles_cells.py)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benign.grids import memscore_cells, profiles_cells
from benign.grids.toy_cells import (
    CAPACITY_SWEEP_DEFAULTS,
    CAPACITY_SWEEP_NOT_SWEPT,
    TOY_DEFAULTS,
    TOY_NOT_SWEPT,
    check_capacity_sweep,
    toy_models,
)
from benign.grids.train_cells import TRAIN_DEFAULTS, TRAIN_NOT_SWEPT, train_config


@dataclass(frozen=True)
class CellKind:
    defaults: dict  # every parameter with its default value
    not_swept: tuple[str, ...]  # parameters that take one value per grid
    check: Callable[[dict, int], None]  # (one cell's parameters, a seed): ValueError if it cannot run
    swept_strings: bool = False  # string parameters may be swept (coordinate 0..k-1 plus their names)


def _check_toy(params: dict, seed: int) -> None:
    toy_models({**params, "n": 1, "B": 1})


def _check_train(params: dict, seed: int) -> None:
    # the device is checked where the cell runs: the driver of a cluster may have no GPU
    train_config({**params, "device": "cpu"}, seed=seed, out="-")


def _check_memscore(params: dict, seed: int) -> None:
    memscore_cells.check({**params, "device": "cpu"}, seed)


KINDS = {
    "toy": CellKind(TOY_DEFAULTS, TOY_NOT_SWEPT, _check_toy),
    "train": CellKind(TRAIN_DEFAULTS, TRAIN_NOT_SWEPT, _check_train, swept_strings=True),
    "capacity": CellKind(
        CAPACITY_SWEEP_DEFAULTS, CAPACITY_SWEEP_NOT_SWEPT, lambda p, s: check_capacity_sweep(p)
    ),
    "memscore": CellKind(
        memscore_cells.MEMSCORE_DEFAULTS, memscore_cells.MEMSCORE_NOT_SWEPT, _check_memscore
    ),
    "profiles": CellKind(
        profiles_cells.PROFILES_DEFAULTS,
        profiles_cells.PROFILES_NOT_SWEPT,
        profiles_cells.check,
        swept_strings=True,
    ),
}
