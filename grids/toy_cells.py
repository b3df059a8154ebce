"""Toy cells of a grid (figure 14): parameters, and the worker-side batch and capacity computations."""

from __future__ import annotations

from benign.theory.devices import resolve_device
from benign.theory.gaussian_mixture import GaussianMixture
from benign.theory.toy_grid import VARIABLES, ProbeSetup, run_toy_cells
from benign.theory.toy_model import ToyTraining
from benign.theory.toy_settings import ToySettings

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
