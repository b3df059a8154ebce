"""Timing of compared variants, alternated in one run."""

import time


def alternate(variants: dict, rounds: int) -> tuple[dict, dict]:
    """Run the variants in turn `rounds` times; per variant, the wall and CPU seconds of each round and
    the last result. Alternating puts both under the same load of a shared machine."""
    times = {name: {"wall": [], "cpu": []} for name in variants}
    results = {}
    for _ in range(rounds):
        for name, fn in variants.items():
            wall, cpu = time.perf_counter(), time.process_time()
            results[name] = fn()
            times[name]["cpu"].append(time.process_time() - cpu)
            times[name]["wall"].append(time.perf_counter() - wall)
    return times, results
