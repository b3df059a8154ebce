"""One reading of --device for every command (theory/devices.py)."""

import pytest
import torch
from typer.testing import CliRunner

from benign.cli.app import app
from benign.theory.devices import resolve_device

runner = CliRunner()


def test_names_and_the_cuda_that_is_or_is_not_there():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad in ("tpu", "cuda:", "cuda:x", "CPU", "", "cuda:0:1"):
        with pytest.raises(ValueError, match="auto, cpu, cuda or cuda:<i>"):
            resolve_device(bad)
    if torch.cuda.is_available():
        assert resolve_device("cuda:0") == torch.device("cuda:0")
        with pytest.raises(ValueError, match="CUDA devices"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    else:
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda:0")


@pytest.mark.parametrize(
    "command",
    [
        ["toy", "grid", "--out", "{tmp}/g"],
        ["toy", "capacity", "--out", "{tmp}/c"],
        ["memscore", "run", "--out", "{tmp}/m"],
        ["profiles", "run", "--out", "{tmp}/p"],
        ["train", "--out", "{tmp}/t"],
    ],
)
def test_every_command_reads_device_the_same_way(command, tmp_path):
    argv = [a.format(tmp=tmp_path) for a in command]
    r = runner.invoke(app, [*argv, "--device", "cuda:x"])
    assert r.exit_code == 2 and r.output.strip().splitlines() == [
        "error: device must be auto, cpu, cuda or cuda:<i>, got 'cuda:x'"
    ], r.output
    assert not any(tmp_path.iterdir())
