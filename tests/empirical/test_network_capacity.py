"""The capacity C_t of a real network: the search on a planted trial, the network trial itself on a
tiny network, and `benign capacity` end to end (its result file, and bad input in one line)."""

import dataclasses
import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from typer.main import get_command
from typer.testing import CliRunner

from benign.cli.app import app
from benign.empirical.network_capacity import (
    CapacitySearch,
    capacity_dataset,
    network_capacity,
    network_trial,
    trial_configs,
)
from benign.empirical.training import TrainConfig
from tests.empirical.fixtures import write_mnist_like

pytestmark = pytest.mark.usefixtures("one_torch_thread")
runner = CliRunner()


@pytest.fixture(scope="module")
def fmnist(tmp_path_factory):
    root = tmp_path_factory.mktemp("capacity")
    write_mnist_like(root, "FashionMNIST", n_train=80, n_test=20)
    return root


def _base(root, **kw):
    base = dict(
        data_root=str(root),
        arch="small_cnn",
        cnn_width=4,
        projector_width=64,
        batch_size=64,
        device="cpu",
        lr=1e-2,
        augment="none",
    )
    return TrainConfig(**{**base, **kw})


def planted(capacity: int, flaky: dict | None = None):
    """A trial whose labellings are all fitted up to `capacity` and none beyond; `flaky` {n: r}: at n
    labelling r fails (an untried labelling would hide it)."""
    calls = []

    def trial(ns, R):
        calls.append(list(ns))
        ok = np.array([[n <= capacity] * R for n in ns])
        for i, n in enumerate(ns):
            if flaky and n in flaky and flaky[n] < R:
                ok[i, flaky[n]] = False
        return ok

    trial.calls = calls
    return trial


@given(capacity=st.integers(2, 80), n_start=st.integers(2, 10))
def test_search_on_a_planted_trial(fmnist, capacity, n_start):
    """Doubling then bisection finds the planted capacity exactly: lower = C, upper = C + 1 (or no
    failure when C >= n_max), every n tried with its success rate."""
    trial = planted(capacity)
    b = network_capacity(_base(fmnist), 10, R=3, n_start=n_start, n_max=80, trial=trial)
    top = n_start * 2 ** int(np.log2(80 // n_start))  # the last rung of the doubling
    assert (b.lower, b.upper) == ((top, None) if capacity >= top else (capacity, capacity + 1))
    tried = [n for call in trial.calls for n in call]
    assert sorted(b.success_rate) == sorted(set(tried))
    assert all(b.success_rate[n] == float(n <= capacity) for n in tried)


def test_one_failing_labelling_caps_the_capacity(fmnist):
    """'For every random labelling': one of R failing at n = 32 makes 32 the upper end."""
    b = network_capacity(_base(fmnist), 10, R=4, n_start=4, n_max=80, trial=planted(40, flaky={32: 3}))
    assert (b.lower, b.upper) == (31, 32) and b.success_rate[32] == 0.75
    ds = capacity_dataset(b, _base(fmnist), 10)
    assert float(ds["capacity_upper"]) == 32 and ds["success_rate"].sel(n=32).item() == 0.75
    assert ds.attrs["title"] == "network capacity" and "config_json" in ds.attrs


def test_network_trial_fits_few_points_and_not_many(fmnist):
    """The real trial: 4 images are fitted within 60 steps under every labelling; 80 images under
    random labels are not within 2 steps."""
    base = _base(fmnist)
    assert network_trial(base, 60, check_every=10)([4], 2).tolist() == [[True, True]]
    assert network_trial(base, 2)([80], 2).tolist() == [[False, False]]
    cfgs = trial_configs(_base(fmnist, augment="simclr"), 8, 3, 5)
    assert [c.label_seed for c in cfgs] == [0, 1, 2] and {c.bank for c in cfgs} == {1}
    assert {c.seed for c in cfgs} == {0} and {c.subset for c in cfgs} == {8}


def test_benign_capacity_writes_its_bracket(fmnist, tmp_path):
    out = tmp_path / "cap" / "capacity.nc"
    args = ["capacity", "--data-root", str(fmnist), "--arch", "small_cnn", "--cnn-width", "4"]
    args += ["--projector-width", "64", "--augment", "none", "--lr", "1e-2", "--device", "cpu"]
    args += ["--steps", "30", "-R", "2", "--n-start", "4", "--n-max", "16", "--precision", "bfloat16"]
    r = runner.invoke(app, [*args, "--out", str(out.parent)])
    assert r.exit_code == 0, r.output
    ds = xr.load_dataset(out)
    assert ds.attrs["title"] == "network capacity" and ds.attrs["budget_steps"] == 30
    config = json.loads(ds.attrs["config_json"])
    assert config["precision"] == "bfloat16" and config["batch_size"] == TrainConfig.batch_size
    lo, hi = float(ds["capacity_lower"]), float(ds["capacity_upper"])
    assert 0 <= lo <= 16 and (np.isnan(hi) or hi > lo)
    for v in ds.data_vars:
        assert ds[v].attrs["long_name"] and "units" in ds[v].attrs


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--n-max", "100000"], "exceeds the 80 images"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--n-start", "1"], "at least 2"),
        (["--n-start", "32", "--n-max", "16"], "n_start <= n_max"),
        (["-R", "0"], "--labellings"),
        (["--arch", "mlp"], "unknown architecture"),
        (["--precision", "fp16"], "precision must be"),
    ],
)
def test_benign_capacity_bad_input_is_one_line_exit_2(fmnist, tmp_path, args, needle):
    r = runner.invoke(
        app,
        ["capacity", "--data-root", str(fmnist), "--device", "cpu", "--out", str(tmp_path / "c"), *args],
    )
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_benign_capacity_defaults_are_the_libraries():
    """Each option's default is TrainConfig's (the model, data and optimiser) or CapacitySearch's."""
    command = get_command(app).commands["capacity"]
    defaults = {p.name: p.default for p in command.params}
    train = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    search = {f.name: f.default for f in dataclasses.fields(CapacitySearch)}
    shared = (set(defaults) & set(train)) - set(search) - {"out"}  # the budget is the search's
    assert {"arch", "projector_width", "cnn_width", "lr", "batch_size", "init", "precision"} <= shared
    assert {k: defaults[k] for k in shared} == {k: train[k] for k in shared}
    assert defaults["labellings"] == search["R"]
    assert {k: defaults[k] for k in set(search) - {"R"}} == {k: search[k] for k in set(search) - {"R"}}
