"""The step profile of the cpu preset's network (empirical/step_profile.py): seconds per step and per
phase, FLOP per step, the same run's bare GEMM time at the step's shapes, and their ratio, on 1 and 2
threads, in float32 and (where the CPU has bf16 matrix units) bf16 autocast. Printed as one table at
the end of `make bench`."""

import pytest

from benign.empirical.step_profile import profile_step
from benign.empirical.training import TrainConfig
from benign.grids.presets import BASE
from benign.store.machine import cpu_bfloat16_units

PRECISIONS = ["float32"] + (["bfloat16"] if cpu_bfloat16_units() else [])


def cpu_preset_config(precision: str) -> TrainConfig:
    """The cpu scale's training run (grids/presets.py BASE["cpu"]), random labels with DA."""
    fields = set(TrainConfig.__dataclass_fields__)
    params = {k: v for k, v in BASE["cpu"].items() if k in fields}
    return TrainConfig(**{**params, "precision": precision, "labels": "random", "device": "cpu"})


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("threads", [1, 2])
def test_step_profile(benchmark, step_profiles, threads, precision):
    steps = 2 if benchmark.disabled else 10
    p = benchmark.pedantic(
        lambda: profile_step(cpu_preset_config(precision), steps=steps, threads=threads),
        rounds=1,
        iterations=1,
    )
    parts = sum(p.seconds[k] for k in ("augment", "forward", "backward", "optimizer"))
    assert p.flop > 0 and p.gemm_seconds > 0 and 0 < p.efficiency < 2
    assert abs(parts - p.seconds["step"]) <= 0.25 * p.seconds["step"]  # medians of parts ~ the whole
    benchmark.extra_info.update(
        {"flop": p.flop, "gemm_seconds": p.gemm_seconds, "efficiency": p.efficiency, **p.seconds}
    )
    step_profiles.append(p)
