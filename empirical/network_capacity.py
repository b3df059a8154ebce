"""Capacity C_t of a real network (appendix D.1): the largest n whose random labels the network fits
completely within t steps at B = 1, bracketed over R labellings by theory.capacity.capacity_bracket.

The trial at n: the class-balanced subset of n training images fixed by `subset_seed` (the points
fixed), R random labellings of it (label_seed = label_seed_offset + r: the labellings vary), one model
initialisation (`seed`), the run's training protocol (empirical/training.py) for at most t steps.
B = 1: with augmentation, each image has one fixed augmentation (a bank of 1) and is memorised when
that augmentation is predicted as its label; without augmentation, the clean image itself.
"Fits within t steps": memorised at one of the checks, every `check_every` steps and at step t; the
R labellings of one n train as one wide network (empirical/wide_training.py) and stop when all fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import torch
import xarray as xr

from benign.empirical.datasets import load_dataset
from benign.empirical.labels import augmentation_labels, make_labels
from benign.empirical.training import TrainConfig, prepare_data, resolve_device
from benign.empirical.wide_training import memorised_share, train_wide
from benign.store.provenance import provenance_attrs
from benign.theory.capacity import CapacityBracket, capacity_bracket


def trial_configs(base: TrainConfig, n: int, R: int, steps: int, label_seed_offset: int = 0):
    """The R runs of the trial at n: random labels, B = 1, a budget of `steps` steps."""
    bank = 0 if base.augment == "none" else 1
    return [
        dataclasses.replace(
            base,
            subset=n,
            labels="random",
            label_seed=label_seed_offset + r,
            steps=steps,
            epochs=0,
            bank=bank,
            bank_labels="image",
            iid=0,
            mixup="off",
            probe_reference="subset",
        )
        for r in range(R)
    ]


def split_size(base: TrainConfig) -> int:
    return len(load_dataset(base.dataset, base.data_root, train=True, device="cpu", download=base.download))


def network_trial(
    base: TrainConfig,
    steps: int,
    check_every: int = 0,
    label_seed_offset: int = 0,
    on_step: Callable[[int, int, int], None] | None = None,
    on_trial: Callable[[int, np.ndarray], None] | None = None,
) -> Callable[[Sequence[int], int], np.ndarray]:
    """trial(ns, R) -> (len(ns), R) bool: labelling r of the n points fitted within `steps` steps.
    on_step(n, step, total) reports progress, on_trial(n, fitted) each n's outcome.
    check_every = 0: every max(1, steps // 20) steps."""
    if steps < 1:
        raise ValueError(f"the budget must be at least one step, got {steps}")
    every = check_every or max(1, steps // 20)
    device = resolve_device(base.device)

    def one(n: int, R: int) -> np.ndarray:
        if n < 2:  # the bisection goes below 2 only when n = 2 failed
            raise ValueError(
                f"not even 2 images were fitted within {steps} steps (batch norm cannot train on 1): "
                "raise the budget"
            )
        cfgs = trial_configs(base, n, R, steps, label_seed_offset)
        first = prepare_data(cfgs[0], device)
        data = []
        for c in cfgs:  # the same points; only the labels differ
            labels = make_labels(first.train.labels, "random", first.train.num_classes, c.label_seed)
            d = dataclasses.replace(first, labels=labels)
            if c.bank:
                d.aug_labels = augmentation_labels(labels, c.bank, d.label_width, c.label_seed, "image")
            data.append(d)
        fitted = torch.zeros(R, dtype=torch.bool)

        def stop(run) -> bool:
            fitted.logical_or_(memorised_share(run, cfgs) >= 1.0)
            return bool(fitted.all())

        train_wide(
            cfgs,
            check_every=every,
            stop=stop,
            data=data,
            progress=None if on_step is None else lambda s, t: on_step(n, s, t),
        )
        if on_trial is not None:
            on_trial(n, fitted.numpy())
        return fitted.numpy()

    def trial(ns: Sequence[int], R: int) -> np.ndarray:
        return np.stack([one(int(n), R) for n in ns])

    return trial


@dataclasses.dataclass(frozen=True)
class CapacitySearch:
    """The search's defaults (those of `benign capacity`): the budget t in steps, R labellings per n,
    doubling from n_start up to n_max, bisection down to upper - lower <= resolution * lower, and a
    memorisation check every check_every steps (0: steps // 20)."""

    steps: int = 500
    R: int = 4
    n_start: int = 16
    n_max: int = 4096
    resolution: float = 0.0
    check_every: int = 0


def network_capacity(
    base: TrainConfig,
    steps: int,
    R: int = CapacitySearch.R,
    n_start: int = CapacitySearch.n_start,
    n_max: int = CapacitySearch.n_max,
    resolution: float = CapacitySearch.resolution,
    check_every: int = CapacitySearch.check_every,
    on_step=None,
    trial=None,
    on_trial=None,
) -> CapacityBracket:
    """The capacity bracket of the network of `base` at a budget of `steps` steps (B = 1).
    `trial` replaces the network trial (tests plant one)."""
    check_search(base, steps, R, n_start, n_max)
    trial = trial or network_trial(base, steps, check_every, on_step=on_step, on_trial=on_trial)
    return capacity_bracket(trial, R=R, n_start=n_start, n_max=n_max, resolution=resolution)


def check_search(base: TrainConfig, steps: int, R: int, n_start: int, n_max: int) -> None:
    """ValueError with one line when the search cannot run (before any training)."""
    base.validate()
    size = split_size(base)
    if n_start < 2:
        raise ValueError(f"n_start must be at least 2 (batch norm), got {n_start}")
    if n_max > size:
        raise ValueError(f"n_max = {n_max} exceeds the {size} images of the {base.dataset} training split")
    if n_max < n_start:
        raise ValueError(f"need n_start <= n_max, got {n_start} > {n_max}")
    if R < 1:
        raise ValueError(f"R must be at least 1, got {R}")
    if steps < 1:
        raise ValueError(f"the budget must be at least one step, got {steps}")


def capacity_dataset(bracket: CapacityBracket, base: TrainConfig, steps: int, extra: dict | None = None):
    """The bracket as an xarray Dataset: success rate per n tried, lower/upper/estimate of C_t."""
    ns = sorted(bracket.success_rate)
    upper = np.nan if bracket.upper is None else float(bracket.upper)
    ds = xr.Dataset(
        {
            "success_rate": ("n", np.array([bracket.success_rate[n] for n in ns], dtype=float)),
            "capacity_lower": ((), float(bracket.lower)),
            "capacity_upper": ((), upper),
            "capacity_estimate": ((), bracket.estimate),
        },
        coords={"n": np.array(ns, dtype=int)},
    )
    meta = {
        "success_rate": (f"share of the {bracket.R} random labellings fitted completely within t steps", "1"),
        "capacity_lower": ("largest n with every labelling tried fitted (lower end of C_t)", "1"),
        "capacity_upper": ("smallest n at which a labelling failed (upper end of C_t; NaN: none)", "1"),
        "capacity_estimate": ("geometric midpoint of the bracket of C_t", "1"),
    }
    for k, (long_name, units) in meta.items():
        ds[k].attrs = {"long_name": long_name, "units": units}
    ds["n"].attrs = {"long_name": "number of training images (random labels, B = 1)", "units": "1"}
    config = {**dataclasses.asdict(base), "budget_steps": steps, "labellings": bracket.R, **(extra or {})}
    ds.attrs = provenance_attrs("network capacity", config)
    ds.attrs.update(labellings=bracket.R, budget_steps=steps)
    return ds
