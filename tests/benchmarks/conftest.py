"""Peer benchmarks: each compares the project with a tool a researcher would use instead, the two
variants alternated in one run, and records the speed ratio; the ratios are printed at the end."""

import statistics

import pytest
import torch

_RATIOS: list[tuple] = []  # (workload, ours, peer, ours s, peer s, wall ratio, CPU ratio, rounds)
_PROFILES: list = []


@pytest.fixture
def step_profiles():
    """A list the step-profile benchmarks append their StepProfile to: one table at the end."""
    return _PROFILES


@pytest.fixture
def record_ratio(benchmark):
    """record_ratio(title, times, ours, peer): stores peer/ours (median wall time, and CPU time, which the
    load of other processes disturbs less) in benchmark.extra_info and in the run's summary."""

    def record(title: str, times: dict, ours: str, peer: str) -> float:
        med = {n: statistics.median(t["wall"]) for n, t in times.items()}
        cpu = {n: statistics.median(t["cpu"]) for n, t in times.items()}
        ratio, cpu_ratio = med[peer] / med[ours], cpu[peer] / cpu[ours]
        rounds = len(times[ours]["wall"])
        benchmark.extra_info.update(
            {
                f"{ours}_median_s": med[ours],
                f"{peer}_median_s": med[peer],
                "speedup_wall": ratio,
                "speedup_cpu": cpu_ratio,
                "rounds": rounds,
            }
        )
        if benchmark.disabled:  # one untimed round under --benchmark-disable (make test): no ratio to show
            return ratio
        _RATIOS.append((title, ours, peer, med[ours], med[peer], ratio, cpu_ratio, rounds))
        return ratio

    return record


def pytest_terminal_summary(terminalreporter):
    if _PROFILES:
        terminalreporter.section("training step of the cpu preset: time per phase against the bare GEMM")
        terminalreporter.write_line(
            "threads dtype     step ms  augment forward backward optim  probe s  GFLOP/step  GFLOP/s  "
            "GEMM ms  share of GEMM rate"
        )
        for p in sorted(_PROFILES, key=lambda p: (p.dtype, p.threads)):
            ms = {k: v * 1e3 for k, v in p.seconds.items()}
            terminalreporter.write_line(
                f"{p.threads:>7} {p.dtype:<9} {ms['step']:>7.1f} {ms['augment']:>8.1f} {ms['forward']:>7.1f} "
                f"{ms['backward']:>8.1f} {ms['optimizer']:>5.1f} {p.probe_seconds:>8.2f} {p.flop / 1e9:>11.2f} "
                f"{p.gflops:>8.1f} {p.gemm_seconds * 1e3:>8.1f} {p.efficiency:>19.2f}"
            )
    if _RATIOS:
        terminalreporter.section("speed against the peers (same run, variants alternated, medians)")
        width = max(len(r[0]) for r in _RATIOS)
        terminalreporter.write_line(
            f"{'workload':<{width}}  {'project':<13} {'peer':<13} {'project ms':>10} {'peer ms':>10} "
            f"{'peer/project':>12} {'(CPU time)':>10} {'rounds':>6}"
        )
        for title, ours, peer, t_ours, t_peer, ratio, cpu_ratio, rounds in _RATIOS:
            terminalreporter.write_line(
                f"{title:<{width}}  {ours:<13} {peer:<13} {t_ours * 1e3:>10.1f} {t_peer * 1e3:>10.1f} "
                f"{ratio:>11.2f}x {cpu_ratio:>9.2f}x {rounds:>6}"
            )
        terminalreporter.write_line("peer/project > 1: the project is faster by that factor")


@pytest.fixture
def torch_threads():
    """torch_threads(n) sets torch's thread count for the test and restores it afterwards."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)
