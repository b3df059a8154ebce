"""Capacity C_t of a model class trained with a budget t (appendix D.1, definition D.1):

    C_t = sup{ n : for every random labelling of n points in general position, training with budget t
                   reaches a memorising solution }.

We estimate it from below and above: for each n, R random labellings are tried ("memorised" means
every training point, and every augmentation where the set is augmented, is predicted as its
random label); n grows by doubling until a labelling fails, then the gap is closed by bisection.
The result is a bracket: `lower`, the largest n memorised under all R labellings tried, and `upper`,
the smallest n at which one failed. Trying only R labellings makes `lower` optimistic (an untried
labelling might fail) and memorisation need not be monotone in n, so report the bracket with R.

The search is model-agnostic: it needs only `trial(ns, R) -> bool array (len(ns), R)`. A trial that
batches (like the toy) can take several n per call; `ways` > 1 then tests that many points of the
gap per round (k-section) instead of one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln, logsumexp

Trial = Callable[[Sequence[int], int], np.ndarray]


@dataclass
class CapacityBracket:
    lower: int  # largest n with every labelling tried memorised (0 if even n=n_start failed)
    upper: int | None  # smallest n where a labelling failed (None: none failed up to n_max)
    success_rate: dict[int, float] = field(default_factory=dict)  # n -> share of the R labellings memorised
    R: int = 0

    @property
    def estimate(self) -> float:
        """The bracket's geometric midpoint (lower when the search hit n_max)."""
        if self.upper is None or self.lower == 0:
            return float(self.lower)
        return math.sqrt(self.lower * self.upper)


def capacity_bracket(
    trial: Trial,
    R: int = 4,
    n_start: int = 1,
    n_max: int = 4096,
    ways: int = 1,
    resolution: float = 0.0,
    progress: Callable[[int], None] | None = None,
) -> CapacityBracket:
    """Doubling from n_start, then bisection (k-section with `ways` > 1) until upper - lower <= max(1, resolution * lower)."""
    if R < 1 or n_start < 1 or n_max < n_start or ways < 1:
        raise ValueError("need R >= 1, 1 <= n_start <= n_max, ways >= 1")
    rate: dict[int, float] = {}

    def run(ns: list[int]) -> list[bool]:
        ok = np.asarray(trial(ns, R), dtype=bool).reshape(len(ns), R)
        for n, row in zip(ns, ok):
            rate[n] = float(row.mean())
        if progress is not None:
            progress(len(ns))
        return [bool(row.all()) for row in ok]

    # Doubling, `ways` rungs of the ladder per call.
    ladder = []
    n = n_start
    while n <= n_max:
        ladder.append(n)
        n *= 2
    lower, upper = 0, None
    for start in range(0, len(ladder), ways):
        rungs = ladder[start : start + ways]
        for n, ok in zip(rungs, run(rungs)):
            if ok:
                lower = n
            else:
                upper = n
                break
        if upper is not None:
            break
    if upper is None:
        return CapacityBracket(lower, None, rate, R)
    # Bisection of (lower, upper): every probe below the first failure raises lower.
    while upper - lower > max(1, int(resolution * lower)):
        step = (upper - lower) / (ways + 1)
        probes = sorted({int(round(lower + step * (i + 1))) for i in range(ways)} - {lower, upper})
        if not probes:
            break
        for n, ok in zip(probes, run(probes)):
            if ok:
                lower = n
            else:
                upper = n
                break
    return CapacityBracket(lower, upper, rate, R)


def hard_projector_capacity_bound(K: int, d: int, C: int) -> int:
    """An upper bound on the capacity of x -> l_{argmin_i |W x - v_i|} (the projector's hard limit).

    argmin_i |W x - v_i|^2 = argmax_i (a_i . x + b_i) with a_i = 2 W^T v_i, b_i = -|v_i|^2: a K-piece
    affine argmax, whatever W and V. On n points its cell assignment is fixed within each region of
    the arrangement of the n K(K-1)/2 hyperplanes {(a_i - a_j) . x_p + b_i - b_j = 0} through the origin
    of the D = K(d+1) dimensional parameter space, which has at most 2 sum_{k<D} binom(m-1, k)
    regions (m = n K(K-1)/2; Cover 1965). Memorising all C^n labellings needs at least C^n of them,
    so n <= the largest n with n log C <= log(2 sum_{k<D} binom(m-1, k)). With K < C some label has
    no prototype at all and the capacity is 0.
    """
    if K < 1 or d < 1 or C < 2:
        raise ValueError("need K >= 1, d >= 1, C >= 2")
    if K < C:
        return 0  # a class without a prototype: one point carrying that label cannot be memorised
    D = K * (d + 1)

    def log_regions(n: int) -> float:
        m = n * K * (K - 1) // 2
        k = np.arange(min(D, m))
        return math.log(2) + float(logsumexp(gammaln(m) - gammaln(k + 1) - gammaln(m - k)))

    n = 1
    while n * math.log(C) <= log_regions(n):
        n *= 2
    lo, hi = n // 2, n  # lo satisfies the inequality, hi does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if mid * math.log(C) <= log_regions(mid):
            lo = mid
        else:
            hi = mid
    return lo


def toy_trial(
    mixture, training, B: int = 1, predict: str = "soft", device="cpu", seed_offset: int = 0
) -> Trial:
    """The toy's trial: labelling r of n points is the cell (n, B, seed = seed_offset + r); each
    draws its own points (in general position almost surely), random labels and initialisation."""
    from theory.toy_model import BatchedToy

    def trial(ns: Sequence[int], R: int) -> np.ndarray:
        n = [m for m in ns for _ in range(R)]
        seeds = [seed_offset + r for _ in ns for r in range(R)]
        toy = BatchedToy(mixture, training, device=device).fit(n, [B] * len(n), seeds)
        frac = toy.memorisation(predict=predict)["aug_mem_frac"].numpy()
        return (frac >= 1.0).reshape(len(ns), R)

    return trial
