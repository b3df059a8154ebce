"""A grid specification: the parameters of a toy or training run, some swept (lists), crossed, times seeds.

Loaded from a TOML file (top-level keys are parameter names, plus `kind`, `seeds` and, for training
grids, `[[setting]]` tables) or from a named preset (grids/presets.py). A parameter given as a list
is a dimension of the grid; for toy grids n and B always are. A training grid sweeping both `subset`
and `bank` (preset nb) names those dimensions n and B, as figure 14 does. The identity of a grid
(what a rerun must match) is `to_dict()`.

Coordinates are numeric (docs/results-format.md): a swept string parameter (dataset, arch,
bank_labels, ...) and `setting` get the coordinate 0..k-1 and an auxiliary `<dim>_name` coordinate
holding the strings.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from benign.grids import presets
from benign.grids.kinds import KINDS
from benign.grids.toy_cells import TOY_CELL_DIMS

PRESETS, SCALES = presets.PRESETS, presets.SCALES
SETTING = "setting"
# The training parameters that are figure 14's axes (training subset n x bank size B) when both are swept.
TRAIN_NB_DIMS = {"subset": "n", "bank": "B"}


@dataclass(frozen=True)
class GridSpec:
    params: dict  # every parameter: a value, or a list of values (swept)
    seeds: tuple[int, ...]
    kind: str = "toy"
    settings: tuple = ()  # training grids: named parameter groups, the `setting` dimension
    name: str = field(default="", compare=False)  # preset or file it came from; not part of the identity

    @property
    def cell_dims(self) -> tuple[str, ...]:
        return TOY_CELL_DIMS if self.kind == "toy" else ()

    @property
    def renamed(self) -> dict[str, str]:
        """parameter -> the name of its dimension, where they differ (an n x B training grid)."""
        swept = self.kind == "train" and all(isinstance(self.params.get(p), list) for p in TRAIN_NB_DIMS)
        return dict(TRAIN_NB_DIMS) if swept else {}

    def param_of(self, dim: str) -> str:
        return {d: p for p, d in self.renamed.items()}.get(dim, dim)

    @property
    def dims(self) -> list[str]:
        swept = [
            self.renamed.get(k, k)
            for k, v in self.params.items()
            if isinstance(v, list) and k not in self.cell_dims
        ]
        return [*self.cell_dims, *([SETTING] if self.settings else []), *swept, "seed"]

    @property
    def labels(self) -> dict[str, list[str]]:
        """Dimensions whose values are strings: dim -> the strings (the coordinate is their index)."""
        out = {SETTING: [s["name"] for s in self.settings]} if self.settings else {}
        for d in self.dims:
            v = self.params.get(self.param_of(d))
            if isinstance(v, list) and isinstance(v[0], str):
                out[d] = list(v)
        return out

    @property
    def coords(self) -> dict[str, list]:
        out = {}
        for d in self.dims:
            if d == "seed":
                out[d] = list(self.seeds)
            elif d in self.labels:
                out[d] = list(range(len(self.labels[d])))
            else:
                v = self.params[self.param_of(d)]
                out[d] = v if isinstance(v, list) else [v]
        return out

    @property
    def fixed(self) -> dict:
        """The parameters that are not dimensions."""
        return {k: v for k, v in self.params.items() if self.renamed.get(k, k) not in self.dims}

    def size(self) -> int:
        total = 1
        for v in self.coords.values():
            total *= len(v)
        return total

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "params": self.params, "seeds": list(self.seeds)}
        if self.settings:
            out[SETTING] = [dict(s) for s in self.settings]
        return out

    def cell_params(self, cell: dict) -> dict:
        """All parameters of one cell (without seed): the fixed ones, its setting's, its swept values."""
        out = dict(self.fixed)
        for d, v in cell.items():
            if d == "seed":
                continue
            if d == SETTING:
                out.update({k: x for k, x in self.settings[v].items() if k != "name"})
                out[SETTING] = self.settings[v]["name"]
            elif d in self.labels:
                out[d] = self.labels[d][v]
            else:
                out[self.param_of(d)] = v
        return out


def from_dict(raw: dict, name: str = "") -> GridSpec:
    """A spec from {parameter: value or list, 'kind', 'seeds', 'setting'}; ValueError on anything unknown."""
    raw = dict(raw)
    kind = raw.pop("kind", "toy")
    if kind not in KINDS:
        raise ValueError(f"unknown grid kind {kind!r}; valid: {', '.join(KINDS)}")
    defaults = KINDS[kind].defaults
    seeds = raw.pop("seeds", 3)
    seeds = list(range(seeds)) if isinstance(seeds, int) and not isinstance(seeds, bool) else seeds
    if (
        not isinstance(seeds, list)
        or not seeds
        or any(not isinstance(s, int) or s < 0 for s in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        raise ValueError("seeds must be a positive count or a list of distinct non-negative whole numbers")
    settings = raw.pop(SETTING, [])
    if settings and kind != "train":
        raise ValueError('`setting` groups exist for training grids only (kind = "train")')
    settings = _check_settings(settings, defaults)
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        raise ValueError(f"unknown parameter {', '.join(unknown)}; valid: {', '.join(['seeds', *defaults])}")
    params = {**defaults, **raw}
    for k, v in params.items():
        _check_value(defaults, k, v, KINDS[kind].not_swept, swept_strings=KINDS[kind].swept_strings)
    if kind == "toy":
        for d in TOY_CELL_DIMS:
            params[d] = params[d] if isinstance(params[d], list) else [params[d]]
            if any(x < 1 for x in params[d]):
                raise ValueError(f"{d} values must be >= 1, got {params[d]!r}")
    spec = GridSpec(params=params, seeds=tuple(seeds), kind=kind, settings=tuple(settings), name=name)
    _check_every_cell_builds(spec)
    return spec


def _check_settings(settings, defaults: dict) -> list[dict]:
    if not isinstance(settings, list) or any(not isinstance(s, dict) for s in settings):
        raise ValueError("`setting` must be a list of tables, each with a `name` and parameter values")
    names = []
    for s in settings:
        if not isinstance(s.get("name"), str) or not s["name"]:
            raise ValueError("every `setting` needs a non-empty `name`")
        names.append(s["name"])
        bad = sorted(set(s) - {"name"} - set(defaults))
        if bad:
            raise ValueError(
                f"setting {s['name']!r}: unknown parameter {', '.join(bad)}; valid: {', '.join(defaults)}"
            )
        for k, v in s.items():
            if k != "name":
                if isinstance(v, list):
                    raise ValueError(f"setting {s['name']!r}: {k} must be one value, not a list")
                _check_value(defaults, k, v, (), swept_strings=False)
    if len(set(names)) != len(names):
        raise ValueError(f"setting names must be distinct, got {names}")
    return [dict(s) for s in settings]


def _check_every_cell_builds(spec: GridSpec) -> None:
    """Every parameter combination the grid will run must make a valid model (errors before any work)."""
    dims = [d for d in spec.dims if d not in ("seed", *spec.cell_dims)]
    for values in itertools.product(*(spec.coords[d] for d in dims)):
        params = spec.cell_params(dict(zip(dims, values)))
        try:
            KINDS[spec.kind].check(params, spec.seeds[0])
        except ValueError as e:
            where = ", ".join(f"{d}={params.get(d, v)}" for d, v in zip(dims, values))
            raise ValueError(f"invalid grid{f' at {where}' if where else ''}: {e}") from None


def _check_value(defaults: dict, name: str, value, not_swept, swept_strings: bool) -> None:
    default = defaults[name]
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list):
        if name in not_swept:
            raise ValueError(f"{name} cannot be swept; give one value")
        if not value or len(set(value)) != len(value):
            raise ValueError(f"{name}: a swept parameter needs distinct values, got {value!r}")
        if isinstance(value[0], str) and not swept_strings:
            raise ValueError(f"{name} cannot be swept (coordinates are numeric); give one value")
    base = default[0] if isinstance(default, list) else default
    for v in values:
        if base is None:  # optional numbers (training grids): None = not used
            ok = v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
        elif isinstance(base, bool) or isinstance(base, str):
            ok = type(v) is type(base)
        elif isinstance(base, int):
            ok = isinstance(v, int) and not isinstance(v, bool)
        else:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not ok:
            raise ValueError(
                f"{name} takes {type(base).__name__ if base is not None else 'number'} values, got {v!r}"
            )


def load_toml(path: str | Path) -> GridSpec:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid TOML: {str(e).splitlines()[0]}") from None
    kind = KINDS.get(raw.get("kind", "toy"))
    defaults = kind.defaults if kind else {}

    def as_float(k, v):  # ints given for float parameters are made floats
        if k in defaults and isinstance(defaults[k], float):
            return [_as_float(x) for x in v] if isinstance(v, list) else _as_float(v)
        return v

    raw = {k: as_float(k, v) for k, v in raw.items()}
    if isinstance(raw.get(SETTING), list):
        raw[SETTING] = [
            {k: as_float(k, v) for k, v in s.items()} if isinstance(s, dict) else s for s in raw[SETTING]
        ]
    return from_dict(raw, name=path.stem)


def to_toml(raw: dict, comment: str = "") -> str:
    """A grid's raw form (a preset's dict: parameters, `seeds`, `setting`) as a TOML file that
    `load_toml` reads back to the same grid; parameters left at None (their default) are left out."""

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise ValueError(f"cannot write {v!r} as TOML")

    lines = [f"# {line}" for line in comment.splitlines()]
    lines += [f"{k} = {value(v)}" for k, v in raw.items() if k != SETTING and v is not None]
    for group in raw.get(SETTING, []):
        lines += ["", f"[[{SETTING}]]", *(f"{k} = {value(v)}" for k, v in group.items() if v is not None)]
    return "\n".join(lines) + "\n"


def _as_float(v):
    return float(v) if type(v) is int else v


def preset(name: str, scale: str = "small") -> GridSpec:
    return from_dict(presets.preset_dict(name, scale), name=name)


def load(source: str, scale: str = "small") -> GridSpec:
    """A preset name or a path to a .toml file (whose axes are its own; the scale must still be one)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid: {', '.join(SCALES)}")
    if source.endswith(".toml"):
        if not Path(source).is_file():
            raise ValueError(f"no such grid file: {source}")
        return load_toml(source)
    return preset(source, scale)
