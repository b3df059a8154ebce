"""The binomial comparison under the null: independent coins must come out binomial.

With every (network, augmentation) pair an independent coin of one probability, p_t(x) is exactly
Bin(N M, p)/(N M): against that, the MAE sits at its floor and the chi-square p-values are uniform.
The paper's Bin(N, p)/N is too wide for an average over M > 1 augmentations and reads the same
homogeneous profile as far from binomial.
"""

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from benign.cli.app import app
from benign.empirical.profiles.binomial import calibration, coin_profiles


@pytest.fixture(scope="module")
def null():
    return calibration(networks=10, augmentations=5, examples=400, replicates=120, p=0.3, draws=8, seed=1)


def test_trials_n_times_m_holds_under_the_null(null):
    r = null["NM"]
    assert 0.8 < r["mae"].mean() / r["floor"].mean() < 1.25
    assert stats.kstest(r["p_value"], "uniform").pvalue > 0.01


def test_trials_n_overstates_unevenness(null):
    r = null["N"]
    assert r["mae"].mean() > 3 * r["floor"].mean()
    assert np.median(r["p_value"]) < 1e-3


def test_one_augmentation_makes_the_two_comparisons_one():
    res = calibration(networks=20, augmentations=1, examples=300, replicates=40, p=0.5, draws=8)
    assert np.allclose(res["N"]["mae"], res["NM"]["mae"])
    assert stats.kstest(res["N"]["p_value"], "uniform").pvalue > 0.01


def test_coin_profiles_have_the_binomial_mean_and_variance():
    rng = np.random.default_rng(0)
    p = coin_profiles(8, 4, 20_000, 0.25, rng)
    assert abs(p.mean() - 0.25) < 0.005
    assert abs(p.var() - 0.25 * 0.75 / 32) < 0.1 * 0.25 * 0.75 / 32
    assert set(np.unique(p * 32).round(9)) <= set(range(33))


def test_calibrate_command_prints_both_rules_and_writes_a_file(tmp_path):
    out = tmp_path / "cal" / "calibration.nc"
    r = CliRunner().invoke(
        app,
        [
            "profiles",
            "calibrate",
            "--networks",
            "6",
            "--augmentations",
            "4",
            "--examples",
            "200",
            "--replicates",
            "10",
            "--out",
            str(out.parent),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "N*M" in r.output
    import xarray as xr

    ds = xr.load_dataset(out)
    assert ds["mae"].dims == ("trials", "replicate") and ds.attrs["title"] == "binomial calibration"


@pytest.mark.parametrize("bad", [["--networks", "0"], ["--p", "1.5"], ["--replicates", "0"]])
def test_calibrate_bad_input_is_one_line_and_exit_2(bad):
    r = CliRunner().invoke(app, ["profiles", "calibrate", *bad])
    assert r.exit_code == 2
    assert len(r.output.strip().splitlines()) == 1
