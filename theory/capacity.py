"""Capacity C_t of a model class trained with a budget t (appendix D.1, definition D.1):

    C_t = sup{ n : for every random labelling of n points in general position, training with budget t
                   reaches a memorising solution }.

We estimate it from below and above: for each n, R random labellings are tried ("memorised" means
every training point, and every augmentation where the set is augmented, is predicted as its
random label); n grows by doubling until a labelling fails, then the gap is closed by bisection.
The result is a bracket: `lower`, the largest n memorised under all R labellings tried, and `upper`,
the smallest n at which one failed. Trying only R labellings makes `lower` optimistic (an untried
labelling might fail) and memorisation need not be monotone in n, so report the bracket with R.

Definition D.1 fixes the points x_1..x_n and quantifies over their labellings: `toy_trial` keeps
one set of points (and augmentation bank) per search and varies the labelling (and the
initialisation) over the R tries; independent repeats of the search (`repeat_seed_offset`) draw new
points, and the spread of their brackets is the part of the estimate that depends on the points.

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
    """An upper bound on the capacity of x -> l_{argmin_i |W x - v_i|} (the projector's hard limit,
    appendix E), whatever W, V and the training.

    The argument. |W x - v_i|^2 = |W x|^2 - (a_i . x + b_i) with a_i = 2 W^T v_i and b_i = -|v_i|^2, so
    the nearest prototype is argmax_i (a_i . x + b_i): a K-piece affine argmax with parameters
    theta = (a_1, b_1, ..., a_K, b_K) in R^{K(d+1)}. On n points x_1..x_n the assignment of every
    point to a prototype is decided by the signs of the m = n K(K-1)/2 linear forms
    (a_i - a_j) . x_p + (b_i - b_j) (p <= n, i < j), i.e. by the region of theta in the arrangement of
    m hyperplanes through the origin of R^{K(d+1)}. Every normal of these hyperplanes, (e_i - e_j) (x) (x_p, 1),
    lies in U = {theta : sum_i (a_i, b_i) = 0}, of dimension D = (K-1)(d+1): adding the same (a, b) to
    every piece changes no difference. The arrangement is therefore a product of one in U with the
    line space U^perp, and has as many regions as its restriction to U: at most
    2 sum_{k<D} binom(m-1, k) (Cover 1965, any m central hyperplanes in R^D; general position is
    the worst case). Only these (K-1)(d+1) free differences matter (choosing pieces K's parameters
    as the reference). Each region gives one labelling through the fixed prototype labels l_i, and
    memorising all C^n labellings needs at least C^n regions, so the bound is the largest n with
    n log C <= log(2 sum_{k<D} binom(m-1, k)) (which holds for small n and fails from some n on;
    it is found by doubling and bisection). With K < C some label has no prototype and the capacity
    is 0.

    It counts the realisable labellings of any n points, so it also bounds the capacity of points in
    general position; it ignores that a_i and b_i are tied through V (and, with V fixed, that only
    the d^2 entries of W are free), so it is loose, mostly by large factors (docs/toy.md, capacity).
    """
    if K < 1 or d < 1 or C < 2:
        raise ValueError("need K >= 1, d >= 1, C >= 2")
    if K < C:
        return 0  # a class without a prototype: one point carrying that label cannot be memorised
    D = (K - 1) * (d + 1)

    def fits(n: int) -> bool:
        return n * math.log(C) <= log_cover_regions(n * K * (K - 1) // 2, D)

    n = 1
    while fits(n):
        n *= 2
    lo, hi = n // 2, n  # lo satisfies the inequality, hi does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def log_cover_regions(m: int, D: int) -> float:
    """log of Cover's count 2 sum_{k<D} binom(m-1, k): the most regions m hyperplanes through the
    origin of R^D cut it into (m >= 1, D >= 1)."""
    if m < 1 or D < 1:
        raise ValueError("need m >= 1 and D >= 1")
    k = np.arange(min(D, m))
    return math.log(2) + float(logsumexp(gammaln(m) - gammaln(k + 1) - gammaln(m - k)))


def toy_trial(
    mixture,
    training,
    B: int = 1,
    predict: str = "soft",
    device="cpu",
    seed_offset: int = 0,
    fixed_points: bool = True,
) -> Trial:
    """The toy's trial. Labelling r of n points is the cell (n, B, seed = seed_offset + r): its random
    labels, initialisation and minibatches come from that seed. With `fixed_points` (definition D.1)
    the n points and their augmentation bank are those of `seed_offset` for every r: one set of points
    (in general position almost surely), R labellings of it. Without, each labelling also redraws
    the points, and a failure may come from a hard point set rather than a hard labelling."""
    from benign.theory.toy_model import BatchedToy

    def trial(ns: Sequence[int], R: int) -> np.ndarray:
        n = [m for m in ns for _ in range(R)]
        seeds = [seed_offset + r for _ in ns for r in range(R)]
        data = [seed_offset] * len(n) if fixed_points else seeds
        toy = BatchedToy(mixture, training, device=device).fit(n, [B] * len(n), seeds, data_seed=data)
        frac = toy.memorisation(predict=predict)["aug_mem_frac"].numpy()
        return (frac >= 1.0).reshape(len(ns), R)

    return trial


def repeat_seed_offset(repeat: int) -> int:
    """Seed offset of independent repeat `repeat` of a capacity search: its points are those of seed
    1000 * repeat and its labellings seeds 1000 * repeat + r (r < R <= 1000), so repeats share neither."""
    if repeat < 0:
        raise ValueError("need repeat >= 0")
    return 1000 * repeat
