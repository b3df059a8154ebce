"""The machine facts of provenance: the CPU's bf16 units, read from /proc/cpuinfo, decide what
precision = "auto" runs as on a CPU, and every result file records them."""

import pytest
import torch

import benign.theory.devices as devices
from benign.store.machine import cpu_bfloat16_units, cpu_flags, cpuinfo_field
from benign.store.provenance import provenance_attrs

AMX = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\nflags\t\t: fpu avx2 avx512f amx_bf16 amx_tile\n"
AVX2 = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 fma\n"


def test_bf16_units_are_read_off_the_flags_line():
    assert cpu_bfloat16_units(AMX) == ["amx_bf16"] and cpu_bfloat16_units(AVX2) == []
    assert "avx2" in cpu_flags(AVX2) and cpu_flags("") == frozenset()
    assert cpuinfo_field(AVX2, "model name") == "AMD EPYC" and cpuinfo_field(AVX2, "cache size") is None


@pytest.mark.parametrize("units, expected", [(["amx_bf16"], torch.bfloat16), ([], None)])
def test_precision_auto_is_bfloat16_on_a_cpu_only_with_bf16_units(monkeypatch, units, expected):
    monkeypatch.setattr(devices, "cpu_bfloat16_units", lambda: units)
    cpu = torch.device("cpu")
    assert devices.autocast_dtype("auto", cpu) is expected
    assert devices.autocast_dtype("bfloat16", cpu) is torch.bfloat16  # asked for by name: always
    assert devices.autocast_dtype("float32", cpu) is None
    assert devices.autocast_dtype("auto", torch.device("cuda")) is torch.bfloat16
    with pytest.raises(ValueError, match="precision must be"):
        devices.autocast_dtype("half", cpu)


def test_every_result_file_records_the_cpu_and_its_bf16_units():
    attrs = provenance_attrs("t", {})
    assert attrs["cpu"] and attrs["cpu_bfloat16_units"] in (
        "none",
        "amx_bf16",
        "avx512_bf16",
        "amx_bf16,avx512_bf16",
    )
