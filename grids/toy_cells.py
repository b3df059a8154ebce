"""Toy cells of a grid (figure 14): parameters, and the worker-side batch and capacity computations."""

from __future__ import annotations

from dataclasses import fields

from benign.theory.devices import resolve_device
from benign.theory.gaussian_mixture import GaussianMixture
from benign.theory.toy_grid import VARIABLES, ProbeSetup, run_toy_cells
from benign.theory.toy_model import ToyTraining
from benign.theory.toy_settings import CapacitySweep, ToySettings

# The toy run's parameters and their defaults (those of `benign toy grid`): theory.toy_settings.
TOY_DEFAULTS = {k: v for k, v in ToySettings().to_dict().items() if k != "seeds"}
TOY_NOT_SWEPT = ("train_prototypes", "vote", "capacity", "capacity_R", "device")
TOY_CELL_DIMS = ("n", "B")
TOY_VARIABLES = VARIABLES
CAPACITY_VARIABLES = {
    "capacity_lower": {
        "long_name": "capacity C_t: largest n found memorised (every labelling tried)",
        "units": "1",
    },
    "capacity_upper": {
        "long_name": "capacity C_t: smallest n at which a labelling failed (NaN: none up to 4096)",
        "units": "1",
    },
}


def toy_models(params: dict) -> tuple[GaussianMixture, ToyTraining, ProbeSetup]:
    """The mixture, training and probe of one cell's parameters; ValueError on an impossible one."""
    settings = ToySettings.from_params(params)
    settings.validate()
    return settings.mixture(), settings.training(), settings.probe()


def run_toy_batch(params: dict, cells: list[dict]) -> list[dict]:
    """Worker side: the cells [{n, B, seed}] of one parameter set, as one batched computation."""
    mixture, training, probe = toy_models(params)
    return run_toy_cells(mixture, training, cells, probe, device=resolve_device(params.get("device", "auto")))


def run_toy_capacity(params: dict) -> dict:
    """Worker side: the capacity bracket C_t at the grid's step budget (appendix D.1: one set of points,
    capacity_R labellings of it), for the line n = C_t / B of figure 14 and the scaling collapse.
    It is the first repeat of `benign toy capacity` with the same parameters."""
    from benign.theory.capacity import capacity_bracket, toy_trial

    mixture, training, _ = toy_models(params)
    bracket = capacity_bracket(
        toy_trial(mixture, training, device=resolve_device(params.get("device", "auto"))),
        R=params["capacity_R"],
        ways=4,
    )
    upper = float("nan") if bracket.upper is None else float(bracket.upper)
    return {"capacity_lower": float(bracket.lower), "capacity_upper": upper}


# --- the toy's capacity against K and t (`benign toy capacity`): a grid of kind "capacity" ----------
# A cell is one capacity search (appendix D.1) at its K and budget t; the seed is the repeat (its own
# points and labellings: theory.capacity.repeat_seed_offset). The toy's parameters are `toy grid`'s.
_SWEEP = CapacitySweep()
CAPACITY_SWEEP_DEFAULTS = {
    **{
        k: v
        for k, v in TOY_DEFAULTS.items()
        if k in {f.name for f in fields(ToySettings)} and k not in ("n", "B")
    },
    "K": list(_SWEEP.K),
    "steps": list(_SWEEP.steps),
    "R": _SWEEP.R,
    "B": _SWEEP.B,
    "n_max": _SWEEP.n_max,
    "predict": _SWEEP.predict,
    "fixed_points": _SWEEP.fixed_points,
}
for _unused in (
    "label_classes",
    "label_noise",
    "n_probe",
    "n_test",
    "knn_k",
    "vote",
    "capacity",
    "capacity_R",
):
    CAPACITY_SWEEP_DEFAULTS.pop(_unused, None)
CAPACITY_SWEEP_NOT_SWEPT = ("train_prototypes", "device", "R", "B", "n_max", "predict", "fixed_points")
CAPACITY_SWEEP_VARIABLES = {
    "capacity_lower": {"long_name": "largest n memorised under every labelling tried", "units": "1"},
    "capacity_upper": {
        "long_name": "smallest n at which a labelling failed (NaN: none up to n_max)",
        "units": "1",
    },
    "hard_bound": {
        "long_name": "upper bound on the capacity of the hard projector (theory.capacity)",
        "units": "1",
    },
}


def check_capacity_sweep(params: dict) -> None:
    """ValueError on parameters no capacity search takes (CapacitySweep's and ToySettings' checks)."""
    scalar = lambda v: v[0] if isinstance(v, list) else v  # noqa: E731
    CapacitySweep(
        K=tuple(params["K"]) if isinstance(params["K"], list) else (params["K"],),
        steps=tuple(params["steps"]) if isinstance(params["steps"], list) else (params["steps"],),
        R=params["R"],
        B=params["B"],
        n_max=params["n_max"],
        predict=params["predict"],
        fixed_points=params["fixed_points"],
    ).validate()
    ToySettings.from_params({k: scalar(v) for k, v in params.items()}).validate()


def run_capacity_cell(params: dict, seed: int) -> dict:
    """Worker side: the capacity bracket of one (K, t), repeat `seed`."""
    from benign.theory.capacity import (
        capacity_bracket,
        hard_projector_capacity_bound,
        repeat_seed_offset,
        toy_trial,
    )

    settings = ToySettings.from_params(params)
    settings.validate()
    device = resolve_device(params.get("device", "auto"))
    trial = toy_trial(
        settings.mixture(),
        settings.training(),
        params["B"],
        params["predict"],
        device,
        repeat_seed_offset(seed),
        params["fixed_points"],
    )
    bracket = capacity_bracket(trial, R=params["R"], ways=4, n_max=params["n_max"])
    return {
        "capacity_lower": float(bracket.lower),
        "capacity_upper": float("nan") if bracket.upper is None else float(bracket.upper),
        "hard_bound": float(hard_projector_capacity_bound(params["K"], params["d"], params["C"])),
    }
