"""The benign picture's two numbers: the mean gain of memorised B = 1 cells and of cells far beyond C_t."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from benign.plots.benign_gain import benign_gains, gains_table

N, B, K = [5, 20, 80], [1, 4, 64], [10, 40]


def grid(gain, mem, init, capacity, status=None):
    dims = ("n", "B", "K", "seed")
    coords = {"n": N, "B": B, "K": K, "seed": [0, 1]}
    return xr.Dataset(
        {
            "knn_acc": (dims, init + gain),
            "knn_acc_init": (dims, init),
            "mem_frac": (dims, mem),
            "status": (dims, np.ones_like(gain, dtype=np.int8) if status is None else status),
            "capacity_lower": ("K", np.asarray(capacity, dtype=float)),
        },
        coords=coords,
    )


shape = (len(N), len(B), len(K), 2)
arrays = st.lists(st.floats(-0.5, 0.5), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))


@settings(deadline=None)
@given(arrays, st.lists(st.booleans(), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
def test_gains_are_the_means_over_the_qualifying_cells(gain, memorised):
    gain = np.reshape(gain, shape)
    mem = np.where(np.reshape(memorised, shape), 1.0, 0.9)
    init = np.full(shape, 0.4)
    capacity = [3.0, 30.0]
    out = benign_gains(grid(gain, mem, init, capacity))
    for k, cap in enumerate(capacity):
        for s in range(2):
            m1 = [gain[i, 0, k, s] for i in range(len(N)) if mem[i, 0, k, s] == 1.0]
            far = [gain[i, j, k, s] for i, n in enumerate(N) for j, b in enumerate(B) if n * b > 10 * cap]
            got = out.isel(K=k, seed=s)
            assert int(got["memorised_B1_cells"]) == len(m1)
            assert int(got["beyond_capacity_cells"]) == len(far)
            if m1:
                assert float(got["memorised_B1"]) == pytest.approx(np.mean(m1), abs=1e-12)
            else:
                assert np.isnan(float(got["memorised_B1"]))
            assert float(got["beyond_capacity"]) == pytest.approx(np.mean(far), abs=1e-12)


def test_cells_not_done_do_not_count_and_the_table_has_a_line_per_K_and_seed():
    gain = np.zeros(shape)
    gain[:, 0] = -0.1  # every B = 1 cell loses
    status = np.ones(shape, dtype=np.int8)
    status[0, 0, 0, 0] = 0
    out = benign_gains(grid(gain, np.ones(shape), np.full(shape, 0.5), [1.0, 1.0], status))
    assert int(out["memorised_B1_cells"].isel(K=0, seed=0)) == len(N) - 1
    assert float(out["memorised_B1"].isel(K=0, seed=0)) == pytest.approx(-0.1)
    assert len(gains_table(grid(gain, np.ones(shape), np.full(shape, 0.5), [1.0, 1.0])).splitlines()) == 5


def test_a_file_without_the_capacity_or_a_bad_factor_is_a_value_error():
    ds = grid(np.zeros(shape), np.ones(shape), np.full(shape, 0.5), [1.0, 1.0])
    with pytest.raises(ValueError, match="capacity_lower"):
        benign_gains(ds.drop_vars("capacity_lower"))
    with pytest.raises(ValueError, match="factor"):
        benign_gains(ds, factor=0)
