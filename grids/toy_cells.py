"""Toy cells of a grid (figure 14): parameters, and the worker-side batch and capacity computations."""

from __future__ import annotations

from theory.gaussian_mixture import GaussianMixture
from theory.toy_grid import VARIABLES, ProbeSetup, run_toy_cells
from theory.toy_model import ToyTraining

# The toy run's parameters and their defaults (those of `benign toy grid`).
TOY_DEFAULTS = {
    "n": [5, 10, 15, 20, 30, 40, 50, 70, 100, 125, 150, 200],
    "B": [1, 2, 3, 4, 6, 8, 16, 32, 64, 128, 512, 1024],
    "C": 5,
    "d": 40,
    "d1": 4,
    "sigma": 1.0,
    "centre_scale": 1.0,
    "K": 32,
    "steps": 1000,
    "lr": 0.01,
    "batch_size": 256,
    "train_prototypes": False,
    "label_classes": 0,
    "label_noise": 1.0,
    "n_probe": 1000,
    "n_test": 1000,
    "knn_k": 20,
    "vote": "uniform",
    "capacity": True,
    "capacity_R": 4,
}
TOY_NOT_SWEPT = ("train_prototypes", "vote", "capacity", "capacity_R")
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
    p = params
    return (
        GaussianMixture(C=p["C"], d=p["d"], d1=p["d1"], sigma=p["sigma"], centre_scale=p["centre_scale"]),
        ToyTraining(
            K=p["K"],
            steps=p["steps"],
            lr=p["lr"],
            batch_size=p["batch_size"],
            train_prototypes=p["train_prototypes"],
            label_classes=p["label_classes"] or None,
            label_noise=p["label_noise"],
        ),
        ProbeSetup(n_probe=p["n_probe"], n_test=p["n_test"], k=p["knn_k"], vote=p["vote"]),
    )


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run_toy_batch(params: dict, cells: list[dict]) -> list[dict]:
    """Worker side: the cells [{n, B, seed}] of one parameter set, as one batched computation."""
    mixture, training, probe = toy_models(params)
    return run_toy_cells(mixture, training, cells, probe, device=_device())


def run_toy_capacity(params: dict) -> dict:
    """Worker side: the capacity bracket C_t at the grid's step budget (appendix D.1: one set of points,
    capacity_R labellings of it), for the line n = C_t / B of figure 14 and the scaling collapse.
    It is the first repeat of `benign toy capacity` with the same parameters."""
    from theory.capacity import capacity_bracket, toy_trial

    mixture, training, _ = toy_models(params)
    bracket = capacity_bracket(toy_trial(mixture, training, device=_device()), R=params["capacity_R"], ways=4)
    upper = float("nan") if bracket.upper is None else float(bracket.upper)
    return {"capacity_lower": float(bracket.lower), "capacity_upper": upper}
