"""The cpu scale: its presets build with precision auto (bf16 where the CPU has bf16 units) and two
seeds; the others, and unknown scales, are one line."""

import itertools
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benign.cli.app import app
from benign.grids import presets
from benign.grids import spec as grid_spec
from benign.grids.report import presets_at
from benign.grids.shared_cells import cell_key

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "grids"


@pytest.mark.parametrize("name", presets.CPU_PRESETS)
def test_every_cpu_preset_builds_with_precision_auto_and_two_seeds(name):
    spec = grid_spec.preset(name, "cpu")
    if name == "fig14":  # the toy: the small grid, three seeds
        assert spec.kind == "toy" and spec == grid_spec.preset("fig14", "small")
        return
    if name == "profiles":  # companion 2: four networks a method, in blocks of two
        assert spec.kind == "profiles" and spec.coords["seed"] == [0, 1, 2, 3] and spec.params["block"] == 2
        return
    if name in presets.MEMSCORE_PRESETS:  # companion 3's runs: one seed, Fashion-MNIST
        assert spec.kind == "memscore" and spec.params["dataset"] == "fashion-mnist"
        assert spec.coords["seed"] == [0]
        return
    assert spec.kind == "train" and spec.params["precision"] == "auto"
    assert spec.params["dataset"].startswith("fashion-mnist")
    # the scores' grids: one model a seed (32 for Feldman-Zhang, 64 SimCLR encoders, 8 networks for
    # LayerMem); else two seeds
    assert spec.coords["seed"] == list(range({"fz": 32, "sslmem": 64, "layermem": 8}.get(name, 2)))


def test_table2_at_cpu_is_the_four_settings_on_250_images():
    spec = grid_spec.preset("table2", "cpu")
    assert spec.dims == ["setting", "seed"] and spec.size() == 8
    assert spec.labels["setting"] == ["random", "random+DA", "clean", "clean+DA"]
    assert spec.params["subset"] == 250 and spec.params["probe_reference"] == "full"
    random = spec.cell_params({"setting": 0, "seed": 0})
    assert (random["labels"], random["augment"]) == ("random", "none")


def cells(spec):
    return [dict(zip(spec.coords, v)) for v in itertools.product(*spec.coords.values())]


def test_fig13_at_cpu_is_table2s_cells_and_the_example_grid_adds_noise_one_half():
    spec = grid_spec.preset("fig13", "cpu")
    assert spec.dims == ["setting", "label_noise", "seed"] and spec.coords["label_noise"] == [0.0, 1.0]
    table2 = grid_spec.preset("table2", "cpu")
    keys = {
        name: {cell_key(g.cell_params(c), c["seed"]) for c in cells(g)}
        for name, g in (("fig13", spec), ("table2", table2))
    }
    assert keys["fig13"] == keys["table2"] and len(keys["fig13"]) == 8  # a report trains them once
    toml = grid_spec.load_toml(EXAMPLES / "fig13_cpu_three_noise_levels.toml")
    assert toml.coords["label_noise"] == [0.0, 0.5, 1.0] and toml.size() == 12
    ends = {cell_key(toml.cell_params(c), c["seed"]) for c in cells(toml) if c["label_noise"] != 0.5}
    assert ends == keys["fig13"]  # the same runs as the preset's, plus noise 0.5


def test_a_preset_without_a_cpu_version_names_those_with_one():
    assert set(presets.CPU_PRESETS) < set(presets.PRESETS)
    with pytest.raises(
        ValueError, match="fig14k has no cpu version; presets with one: table2, table4, fig13"
    ):
        grid_spec.preset("fig14k", "cpu")
    assert presets_at("cpu") == list(presets.CPU_PRESETS) and "profiles" in presets.CPU_PRESETS
    assert presets_at("small") == list(presets.PRESETS)


def one_line(r, *words):
    out = r.output.strip()
    assert r.exit_code == 2 and out.startswith("error:") and len(out.splitlines()) == 1, r.output
    for w in words:
        assert w in out, out


def test_grid_run_and_report_refuse_a_preset_without_a_cpu_version_in_one_line(tmp_path):
    one_line(
        runner.invoke(app, ["grid", "run", "fig14k", "--scale", "cpu", "--out", str(tmp_path / "g")]),
        "fig14k has no cpu version",
        "fig13",
    )
    one_line(
        runner.invoke(app, ["report", "--scale", "cpu", "--presets", "fig14k", "--out", str(tmp_path / "r")]),
        "fig14k has no cpu version",
    )
    for args in (
        ["grid", "run", "table2", "--out", str(tmp_path / "g")],
        ["report", "--out", str(tmp_path / "r")],
    ):
        one_line(runner.invoke(app, [*args, "--scale", "gpu"]), "unknown", "cpu")
    assert not (tmp_path / "g").exists() and not (tmp_path / "r").exists()


def keys_of(name: str) -> set[str]:
    g = grid_spec.preset(name, "cpu")
    return {cell_key(g.cell_params(c), c["seed"]) for c in cells(g)}


def test_cpu_presets_that_share_cells_train_them_once():
    """Table 1 and figure 4 at cpu are figure 7's cells (random, random + DA with layer probes);
    table 3's four settings without i.i.d. views are table 2's."""
    fig7 = keys_of("fig7")
    assert len(fig7) == 4 and keys_of("table1") | keys_of("fig4") == fig7
    assert keys_of("table1").isdisjoint(keys_of("fig4"))
    assert len(keys_of("table3") & keys_of("table2")) == 8 and len(keys_of("table3")) == 12
    assert len(keys_of("fig8") & keys_of("table2")) == 2  # width 4096: table 2's random + DA


def test_every_cpu_claim_has_its_preset():
    """Each claim of the scoreboard that a training grid answers has a cpu preset."""
    from benign.grids.claims import CLAIMS

    sources = {s for c in CLAIMS for s in c.sources if s.startswith(("table", "fig"))}
    assert sources <= set(presets.CPU_PRESETS)
