"""The cpu scale: its presets build with precision auto (bf16 where the CPU has bf16 units) and two
seeds; the others, and unknown scales, are one line."""

import pytest
from typer.testing import CliRunner

from cli.app import app
from grids import presets
from grids import spec as grid_spec
from grids.report import presets_at

runner = CliRunner()


@pytest.mark.parametrize("name", presets.CPU_PRESETS)
def test_every_cpu_preset_builds_with_precision_auto_and_two_seeds(name):
    spec = grid_spec.preset(name, "cpu")
    assert spec.kind == "train" and spec.params["precision"] == "auto"
    assert spec.coords["seed"] == [0, 1] and spec.params["dataset"] == "fashion-mnist"


def test_table2_at_cpu_is_the_four_settings_on_1000_images():
    spec = grid_spec.preset("table2", "cpu")
    assert spec.dims == ["setting", "seed"] and spec.size() == 8
    assert spec.labels["setting"] == ["random", "random+DA", "clean", "clean+DA"]
    assert spec.params["subset"] == 1000 and spec.params["probe_reference"] == "full"
    random = spec.cell_params({"setting": 0, "seed": 0})
    assert (random["labels"], random["augment"]) == ("random", "none")


def test_fig13_at_cpu_reaches_full_noise_with_and_without_augmentation():
    spec = grid_spec.preset("fig13", "cpu")
    assert spec.dims == ["setting", "label_noise", "seed"]
    assert spec.coords["label_noise"][0] == 0.0 and spec.coords["label_noise"][-1] == 1.0


def test_a_preset_without_a_cpu_version_names_those_with_one():
    assert set(presets.CPU_PRESETS) < set(presets.PRESETS)
    with pytest.raises(ValueError, match="fig14 has no cpu version; presets with one: table2, table4"):
        grid_spec.preset("fig14", "cpu")
    assert presets_at("cpu") == list(presets.CPU_PRESETS) and presets_at("small") == list(presets.PRESETS)


def one_line(r, *words):
    out = r.output.strip()
    assert r.exit_code == 2 and out.startswith("error:") and len(out.splitlines()) == 1, r.output
    for w in words:
        assert w in out, out


def test_grid_run_and_report_refuse_a_preset_without_a_cpu_version_in_one_line(tmp_path):
    one_line(
        runner.invoke(app, ["grid", "run", "table3", "--scale", "cpu", "--out", str(tmp_path / "g")]),
        "table3 has no cpu version",
        "fig13",
    )
    one_line(
        runner.invoke(app, ["report", "--scale", "cpu", "--presets", "fig8", "--out", str(tmp_path / "r")]),
        "fig8 has no cpu version",
    )
    for args in (
        ["grid", "run", "table2", "--out", str(tmp_path / "g")],
        ["report", "--out", str(tmp_path / "r")],
    ):
        one_line(runner.invoke(app, [*args, "--scale", "gpu"]), "unknown", "cpu")
    assert not (tmp_path / "g").exists() and not (tmp_path / "r").exists()
