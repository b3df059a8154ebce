"""A grid specification: the parameters of a toy run, some swept (lists), crossed, times seeds.

Loaded from a TOML file (top-level keys are parameter names, plus `seeds`) or from a named preset.
A parameter given as a list is a dimension of the grid; n and B always are (a single value makes a
dimension of length one). The identity of a grid (what a rerun must match) is `to_dict()`.
"""
from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from theory.gaussian_mixture import GaussianMixture
from theory.toy_grid import ProbeSetup
from theory.toy_model import ToyTraining

# The toy run's parameters and their defaults (those of `benign toy grid`).
TOY_DEFAULTS = {
    "n": [5, 10, 15, 20, 30, 40, 50, 70, 100, 125, 150, 200],
    "B": [1, 2, 3, 4, 6, 8, 16, 32, 64, 128, 512, 1024],
    "C": 5, "d": 40, "d1": 4, "sigma": 1.0, "centre_scale": 1.0,
    "K": 32, "steps": 1000, "lr": 0.01, "batch_size": 256, "train_prototypes": False,
    "label_classes": 0, "label_noise": 1.0,
    "n_probe": 1000, "n_test": 1000, "knn_k": 20, "vote": "uniform",
}
# Coordinates must be numeric (SPEC, "Results: the format"), so these stay single values.
NOT_SWEPT = ("train_prototypes", "vote")
CELL_DIMS = ("n", "B")

FIG14_FULL_N = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100, 125, 150, 200]
FIG14_FULL_B = [*range(1, 11), 12, 14, 16, 18, 20, 24, 28, 32, 48, 64, 128, 256, 512, 1024]

PRESETS = {
    "fig14": {
        "small": {"seeds": 3},  # the toy grid defaults: 12 x 12 x 3
        "full": {"n": FIG14_FULL_N, "B": FIG14_FULL_B, "seeds": 3},
    },
}
SCALES = ("small", "full")


@dataclass(frozen=True)
class GridSpec:
    params: dict                       # every parameter: a value, or a list of values (swept)
    seeds: tuple[int, ...]
    kind: str = "toy"
    name: str = field(default="", compare=False)   # preset or file it came from; not part of the identity

    @property
    def dims(self) -> list[str]:
        swept = [k for k, v in self.params.items() if isinstance(v, list) and k not in CELL_DIMS]
        return [*CELL_DIMS, *swept, "seed"]

    @property
    def coords(self) -> dict[str, list]:
        out = {}
        for d in self.dims:
            v = list(self.seeds) if d == "seed" else self.params[d]
            out[d] = v if isinstance(v, list) else [v]
        return out

    @property
    def fixed(self) -> dict:
        """The parameters that are not dimensions."""
        return {k: v for k, v in self.params.items() if k not in self.dims}

    def size(self) -> int:
        total = 1
        for v in self.coords.values():
            total *= len(v)
        return total

    def to_dict(self) -> dict:
        return {"kind": self.kind, "params": self.params, "seeds": list(self.seeds)}

    def cell_params(self, cell: dict) -> dict:
        """All parameters of one cell: the fixed ones and the cell's own swept values (without seed)."""
        return {**self.fixed, **{k: v for k, v in cell.items() if k != "seed"}}


def toy_models(params: dict) -> tuple[GaussianMixture, ToyTraining, ProbeSetup]:
    p = params
    return (GaussianMixture(C=p["C"], d=p["d"], d1=p["d1"], sigma=p["sigma"], centre_scale=p["centre_scale"]),
            ToyTraining(K=p["K"], steps=p["steps"], lr=p["lr"], batch_size=p["batch_size"],
                        train_prototypes=p["train_prototypes"], label_classes=p["label_classes"] or None,
                        label_noise=p["label_noise"]),
            ProbeSetup(n_probe=p["n_probe"], n_test=p["n_test"], k=p["knn_k"], vote=p["vote"]))


def from_dict(raw: dict, name: str = "") -> GridSpec:
    """A spec from {parameter: value or list, 'seeds': S or [s, ...]}; ValueError on anything unknown."""
    raw = dict(raw)
    kind = raw.pop("kind", "toy")
    if kind != "toy":
        raise ValueError(f"unknown grid kind {kind!r}; valid: toy")
    seeds = raw.pop("seeds", 3)
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seeds or any(not isinstance(s, int) or s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError("seeds must be a positive count or a list of distinct non-negative whole numbers")
    unknown = sorted(set(raw) - set(TOY_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown parameter {', '.join(unknown)}; valid: {', '.join(['seeds', *TOY_DEFAULTS])}")
    params = {**TOY_DEFAULTS, **raw}
    for k, v in params.items():
        _check_value(k, v)
    spec = GridSpec(params=params, seeds=tuple(seeds), kind=kind, name=name)
    swept = [k for k in spec.dims if k not in ("seed", *CELL_DIMS)]
    for values in itertools.product(*(spec.coords[k] for k in swept)):  # every model the grid will build
        try:
            toy_models({**spec.fixed, "n": 1, "B": 1, **dict(zip(swept, values))})
        except ValueError as e:
            raise ValueError(f"invalid grid: {e}") from None
    return spec


def _check_value(name: str, value) -> None:
    default = TOY_DEFAULTS[name]
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list):
        if name in NOT_SWEPT:
            raise ValueError(f"{name} cannot be swept (coordinates are numeric); give one value")
        if not value or len(set(value)) != len(value):
            raise ValueError(f"{name}: a swept parameter needs distinct values, got {value!r}")
    base = default[0] if isinstance(default, list) else default
    for v in values:
        if isinstance(base, bool) or isinstance(base, str):
            ok = type(v) is type(base)
        elif isinstance(base, int):
            ok = isinstance(v, int) and not isinstance(v, bool)
        else:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not ok:
            raise ValueError(f"{name} takes {type(base).__name__} values, got {v!r}")
    if name in CELL_DIMS and any(v < 1 for v in values):
        raise ValueError(f"{name} values must be >= 1, got {value!r}")


def load_toml(path: str | Path) -> GridSpec:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path} is not valid TOML: {e}") from None
    # floats in a TOML list of floats stay floats; ints given for float parameters are made floats
    for k, v in raw.items():
        if k in TOY_DEFAULTS and isinstance(TOY_DEFAULTS[k], float):
            raw[k] = [_as_float(x) for x in v] if isinstance(v, list) else _as_float(v)
    return from_dict(raw, name=path.stem)


def _as_float(v):
    return float(v) if type(v) is int else v


def preset(name: str, scale: str = "small") -> GridSpec:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid: {', '.join(PRESETS)}")
    if scale not in PRESETS[name]:
        raise ValueError(f"unknown scale {scale!r}; valid: {', '.join(PRESETS[name])}")
    return from_dict(PRESETS[name][scale], name=name)


def load(source: str, scale: str = "small") -> GridSpec:
    """A preset name or a path to a .toml file."""
    if source.endswith(".toml"):
        if not Path(source).is_file():
            raise ValueError(f"no such grid file: {source}")
        return load_toml(source)
    return preset(source, scale)
