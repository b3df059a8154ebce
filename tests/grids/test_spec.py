"""Grid specifications: presets, TOML files, and the errors that name the valid choices."""
import itertools

import pytest

from grids import spec as grid_spec
from grids.engine import batches


def test_fig14_presets_have_the_papers_axes():
    small = grid_spec.preset("fig14", "small")
    assert small.coords["n"] == grid_spec.TOY_DEFAULTS["n"] and len(small.coords["B"]) == 12
    assert small.coords["seed"] == [0, 1, 2] and small.size() == 12 * 12 * 3
    full = grid_spec.preset("fig14", "full")
    assert full.coords["n"][-4:] == [100, 125, 150, 200] and len(full.coords["n"]) == 18
    assert full.coords["B"][:10] == list(range(1, 11)) and full.coords["B"][-3:] == [256, 512, 1024]
    assert full.size() == 18 * 24 * 3
    assert full.to_dict() != small.to_dict()


def test_toml_sweeps_lists_and_keeps_scalars(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text('n = [3, 6]\nB = 2\nK = [4, 8]\nsigma = 1\nseeds = [0, 5]\nvote = "cosine"\n')
    spec = grid_spec.load(str(path))
    assert spec.dims == ["n", "B", "K", "seed"]
    assert spec.coords == {"n": [3, 6], "B": [2], "K": [4, 8], "seed": [0, 5]}
    assert spec.fixed["sigma"] == 1.0 and isinstance(spec.fixed["sigma"], float) and spec.fixed["vote"] == "cosine"
    assert spec.name == "g" and spec.size() == 8
    assert spec.cell_params({"n": 3, "B": 2, "K": 8, "seed": 5})["K"] == 8


@pytest.mark.parametrize("raw, words", [
    ({"nn": [1]}, ["unknown parameter nn", "steps", "seeds"]),
    ({"vote": ["uniform", "cosine"]}, ["cannot be swept"]),
    ({"K": "eight"}, ["K takes int"]),
    ({"n": [0, 3]}, ["n values must be >= 1"]),
    ({"d1": 50}, ["invalid grid", "d1"]),
    ({"seeds": 0}, ["seeds"]),
])
def test_bad_specs_are_value_errors_naming_the_problem(raw, words):
    with pytest.raises(ValueError) as e:
        grid_spec.from_dict(raw)
    for w in words:
        assert w in str(e.value)


def test_unknown_preset_and_scale_name_the_valid_ones():
    with pytest.raises(ValueError, match="valid: fig14"):
        grid_spec.load("fig99")
    with pytest.raises(ValueError, match="valid: small, full"):
        grid_spec.preset("fig14", "huge")


def test_batches_share_one_parameter_set_and_spread_over_workers():
    spec = grid_spec.from_dict({"n": [3, 6], "B": [1, 2], "K": [4, 8], "seeds": 2})
    cells = [dict(zip(spec.dims, v)) for v in itertools.product(*spec.coords.values())]
    out = batches(spec, cells, workers=2, max_batch=72)
    assert sorted(len(b) for b in out) == [4, 4, 4, 4]
    assert all(len({c["K"] for c in b}) == 1 for b in out)
    assert sum(len(b) for b in batches(spec, cells, workers=1, max_batch=3)) == 16
