"""Grid specifications: presets, TOML files, and the errors that name the valid choices."""

import itertools

import pytest

from benign.grids import spec as grid_spec
from benign.grids.engine import batches
from benign.grids.kinds import KINDS


def test_fig14_presets_have_the_papers_axes():
    small = grid_spec.preset("fig14", "small")
    assert small.coords["n"] == KINDS["toy"].defaults["n"] and len(small.coords["B"]) == 12
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
    assert (
        spec.fixed["sigma"] == 1.0
        and isinstance(spec.fixed["sigma"], float)
        and spec.fixed["vote"] == "cosine"
    )
    assert spec.name == "g" and spec.size() == 8
    assert spec.cell_params({"n": 3, "B": 2, "K": 8, "seed": 5})["K"] == 8


@pytest.mark.parametrize(
    "raw, words",
    [
        ({"nn": [1]}, ["unknown parameter nn", "steps", "seeds"]),
        ({"vote": ["uniform", "cosine"]}, ["cannot be swept"]),
        ({"K": "eight"}, ["K takes int"]),
        ({"n": [0, 3]}, ["n values must be >= 1"]),
        ({"d1": 50}, ["invalid grid", "d1"]),
        ({"seeds": 0}, ["seeds"]),
    ],
)
def test_bad_specs_are_value_errors_naming_the_problem(raw, words):
    with pytest.raises(ValueError) as e:
        grid_spec.from_dict(raw)
    for w in words:
        assert w in str(e.value)


def test_unknown_preset_and_scale_name_the_valid_ones():
    with pytest.raises(ValueError, match="valid: table1, table2, table3, .*fig13, fig14"):
        grid_spec.load("fig99")
    with pytest.raises(ValueError, match="valid: small, full, tiny"):
        grid_spec.preset("fig14", "huge")


@pytest.mark.parametrize("scale", grid_spec.SCALES)
def test_every_preset_builds_at_every_scale(scale):
    for name in grid_spec.presets.presets_at(scale):
        spec = grid_spec.preset(name, scale)
        assert spec.name == name and spec.size() >= 1 and spec.dims[-1] == "seed"
        assert all(isinstance(v, (int, float)) for vals in spec.coords.values() for v in vals)


def test_training_presets_have_the_papers_axes():
    t2 = grid_spec.preset("table2", "full")
    assert t2.dims == ["setting", "dataset", "arch", "seed"]
    assert t2.labels["setting"] == ["random", "random+DA", "clean", "clean+DA"]
    assert t2.labels["dataset"] == ["cifar10", "cifar100", "tinyimagenet"] and t2.coords["arch"] == [0, 1]
    cell = t2.cell_params({"setting": 1, "dataset": 2, "arch": 1, "seed": 0})
    assert (cell["labels"], cell["augment"], cell["mixup"], cell["dataset"], cell["arch"]) == (
        "random",
        "simclr",
        "xy",
        "tinyimagenet",
        "vgg11",
    )
    assert t2.cell_params({"setting": 0, "dataset": 0, "arch": 0, "seed": 0})["augment"] == "none"
    assert grid_spec.preset("table4", "small").to_dict() == grid_spec.preset("table2", "small").to_dict()
    t3 = grid_spec.preset("table3", "full")
    assert t3.fixed["subset"] == 1000 and t3.cell_params({"setting": 1, "seed": 0})["iid"] == 50
    f6 = grid_spec.preset("fig6", "full")
    assert f6.coords["bank"][-1] == 4096 and f6.labels["bank_labels"] == ["image", "random"]
    assert grid_spec.preset("fig9", "full").coords["label_classes"][-1] == 0  # per sample
    assert grid_spec.preset("fig11", "full").coords["label_noise"][-3:] == [0.95, 0.98, 1.0]
    assert grid_spec.preset("fig8", "full").coords["projector_width"][-1] == 524288


def test_training_toml_with_settings(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(
        'kind = "train"\nseeds = 2\nsubset = 64\nlabel_noise = [0, 0.5]\n'
        '[[setting]]\nname = "plain"\naugment = "none"\n[[setting]]\nname = "DA"\n'
    )
    spec = grid_spec.load(str(path))
    assert spec.dims == ["setting", "label_noise", "seed"] and spec.coords["label_noise"] == [0.0, 0.5]
    assert spec.cell_params({"setting": 0, "label_noise": 0.5, "seed": 1})["augment"] == "none"
    assert spec.size() == 8


@pytest.mark.parametrize(
    "raw, words",
    [
        ({"kind": "train", "epochs": [1, 2]}, ["epochs cannot be swept"]),
        ({"kind": "train", "setting": [{"name": "a", "lbls": "x"}]}, ["unknown parameter lbls", "labels"]),
        ({"kind": "train", "setting": [{"name": "a"}, {"name": "a"}]}, ["distinct"]),
        ({"setting": [{"name": "a"}]}, ["training grids only"]),
        (
            {"kind": "train", "arch": ["resnet18", "mlp"]},
            ["invalid grid at arch=mlp", "unknown architecture"],
        ),
        ({"kind": "train", "label_noise": [0.5, 2.0]}, ["invalid grid at label_noise=2.0"]),
        ({"kind": "lab"}, ["unknown grid kind", "toy, train"]),
    ],
)
def test_bad_training_specs_name_the_problem(raw, words):
    with pytest.raises(ValueError) as e:
        grid_spec.from_dict(raw)
    for w in words:
        assert w in str(e.value)


def test_batches_share_one_parameter_set_and_spread_over_workers():
    spec = grid_spec.from_dict({"n": [3, 6], "B": [1, 2], "K": [4, 8], "seeds": 2})
    cells = [dict(zip(spec.dims, v)) for v in itertools.product(*spec.coords.values())]
    out = batches(spec, cells, workers=2, max_batch=72)
    assert sorted(len(b) for b in out) == [4, 4, 4, 4]
    assert all(len({c["K"] for c in b}) == 1 for b in out)
    assert sum(len(b) for b in batches(spec, cells, workers=1, max_batch=3)) == 16


def test_the_example_grid_files_load_and_one_is_the_fig13_preset():
    from pathlib import Path

    examples = sorted((Path(__file__).parents[2] / "examples" / "grids").glob("*.toml"))
    assert len(examples) >= 2
    specs = {p.stem: grid_spec.load(str(p)) for p in examples}
    assert specs["collapse_K"].dims == ["n", "B", "K", "seed"]
    assert specs["label_noise"].to_dict() == grid_spec.preset("fig13", "small").to_dict()


def test_fig14k_is_figure_14_as_a_family_over_K():
    small = grid_spec.preset("fig14k", "small")
    assert small.dims == ["n", "B", "K", "seed"]
    assert small.coords["K"] == [20, 40, 80] and small.fixed["train_prototypes"] is True
    # K >> d, so that the trained prototypes, not the encoder, set C_t; d1 <= C - 1
    assert (small.fixed["d"], small.fixed["d1"], small.fixed["centre_scale"]) == (12, 4, 0.6)
    # a slow encoder beside fast prototypes (README, "Figure 14 over K"); 4 seeds for a mean +- s.e.
    assert (small.fixed["lr"], small.fixed["prototype_lr_ratio"], len(small.seeds)) == (0.001, 10.0, 8)
    assert min(small.coords["K"]) > small.fixed["d"] and small.fixed["d1"] <= small.fixed["C"] - 1
    assert small.coords["B"][0] == 1 and small.coords["n"][-1] >= 160  # beyond every C_t at B = 1
    full, tiny = grid_spec.preset("fig14k", "full"), grid_spec.preset("fig14k", "tiny")
    assert full.coords["n"] == grid_spec.preset("fig14", "full").coords["n"] and len(full.coords["K"]) == 6
    assert tiny.size() == 8 and tiny.fixed["steps"] == 60
    # figure 14's own presets are untouched by the family
    assert "K" not in grid_spec.preset("fig14", "small").coords


def test_fig14k_tiny_runs_with_one_capacity_per_K(tmp_path):
    from benign.grids.engine import load_grid, run_grid
    from tests.grids.in_process import InProcess

    counts = run_grid(grid_spec.preset("fig14k", "tiny"), tmp_path, InProcess())
    assert counts["done"] == 8 and counts["failed"] == 0
    ds = load_grid(tmp_path)
    assert ds["capacity_lower"].dims == ("K",) and (ds["capacity_lower"] >= 1).all()
    assert (ds["capacity_upper"] > ds["capacity_lower"]).all()


@pytest.mark.parametrize("scale", grid_spec.SCALES)
def test_every_preset_shown_as_toml_reads_back_as_the_same_grid(scale, tmp_path):
    """`benign grid show PRESET` prints a TOML file that `grid run` runs as the preset itself."""
    from benign.grids.presets import preset_dict, presets_at

    for name in presets_at(scale):
        path = tmp_path / f"{name}-{scale}.toml"
        path.write_text(grid_spec.to_toml(preset_dict(name, scale), "a comment"))
        again, original = grid_spec.load_toml(path), grid_spec.preset(name, scale)
        assert (again.params, again.seeds, again.settings, again.kind) == (
            original.params,
            original.seeds,
            original.settings,
            original.kind,
        ), name


def test_grid_show_prints_the_toml(tmp_path):
    from typer.testing import CliRunner

    from benign.cli.app import app

    r = CliRunner().invoke(app, ["grid", "show", "fig13", "--scale", "cpu"])
    assert r.exit_code == 0 and r.output.startswith("# preset fig13 at scale cpu")
    assert "Departs from table 6" in r.output  # where the scale leaves the paper's protocol
    assert (
        "label_noise = [0.0, 1.0]" in r.output and '[[setting]]\nname = "without augmentations"' in r.output
    )
    r = CliRunner().invoke(app, ["grid", "show", "fig99"])
    assert r.exit_code == 2 and "unknown preset 'fig99'" in r.output
