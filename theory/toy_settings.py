"""Every setting of the toy (appendix E) in one place, with its default and its check.

`ToySettings` is one run of figure 14: the axes n and B, the seeds, the mixture, the training, the
k-NN probe and the capacity search for the line n = C_t / B. `CapacitySweep` is `benign toy capacity`:
C_t against the prototypes K and the budget t (appendix D.1). The mixture's and the training's own
defaults stay on `GaussianMixture`, `ToyTraining` and `ProbeSetup` and are read from there, so that a
value is written once; the command line, the grid presets and the grid specs read them from here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from benign.theory.devices import check_device
from benign.theory.gaussian_mixture import GaussianMixture
from benign.theory.toy_grid import ProbeSetup
from benign.theory.toy_model import ToyTraining

# Figure 14's axes, thinned to 12 x 12 so that 3 seeds run in minutes on a 2-core CPU.
FIG14_N = (5, 10, 15, 20, 30, 40, 50, 70, 100, 125, 150, 200)
FIG14_B = (1, 2, 3, 4, 6, 8, 16, 32, 64, 128, 512, 1024)
VOTES = ("uniform", "cosine")
PREDICTS = ("soft", "hard")
CAPACITY_N_MAX = 4096  # largest n the capacity search tries (appendix D.1's doubling stops there)


def _check_sizes(name: str, values, minimum: int = 1) -> None:
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty")
    if any(isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in values):
        raise ValueError(f"{name} values must be whole numbers >= {minimum}, got {values}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} repeats a value: {values}")


@dataclass(frozen=True)
class ToySettings:
    n: tuple[int, ...] = FIG14_N  # training-set sizes
    B: tuple[int, ...] = FIG14_B  # augmentations per sample (the first is the identity)
    seeds: int = 3  # seeds 0..seeds-1 per cell
    C: int = GaussianMixture.C
    d: int = GaussianMixture.d
    d1: int = GaussianMixture.d1
    sigma: float = GaussianMixture.sigma
    centre_scale: float = GaussianMixture.centre_scale
    K: int = ToyTraining.K
    steps: int = ToyTraining.steps
    lr: float = ToyTraining.lr
    prototype_lr_ratio: float = ToyTraining.prototype_lr_ratio
    batch_size: int = ToyTraining.batch_size
    train_prototypes: bool = ToyTraining.train_prototypes
    label_classes: int = 0  # random classes C'; 0 = C
    label_noise: float = ToyTraining.label_noise
    n_probe: int = ProbeSetup.n_probe
    n_test: int = ProbeSetup.n_test
    knn_k: int = ProbeSetup.k
    vote: str = ProbeSetup.vote
    capacity: bool = True  # also estimate C_t (at B = 1) for the line n = C_t / B
    capacity_R: int = 4  # labellings tried per n in the capacity search
    device: str = "auto"  # auto | cpu | cuda | cuda:<i>

    def validate(self) -> None:
        """ValueError with one readable line on any impossible setting."""
        _check_sizes("n", self.n)
        _check_sizes("B", self.B)
        for name in ("seeds", "n_probe", "n_test", "knn_k", "capacity_R"):
            _check_sizes(name, [getattr(self, name)])
        if self.label_classes < 0:
            raise ValueError(f"label_classes must be >= 0 (0: C), got {self.label_classes}")
        if self.vote not in VOTES:
            raise ValueError(f"vote must be {' or '.join(VOTES)}, got {self.vote!r}")
        check_device(self.device)
        self.mixture(), self.training()  # their own checks

    def mixture(self) -> GaussianMixture:
        return GaussianMixture(
            C=self.C, d=self.d, d1=self.d1, sigma=self.sigma, centre_scale=self.centre_scale
        )

    def training(self) -> ToyTraining:
        return ToyTraining(
            K=self.K,
            steps=self.steps,
            lr=self.lr,
            prototype_lr_ratio=self.prototype_lr_ratio,
            batch_size=self.batch_size,
            train_prototypes=self.train_prototypes,
            label_classes=self.label_classes or None,
            label_noise=self.label_noise,
        )

    def probe(self) -> ProbeSetup:
        return ProbeSetup(n_probe=self.n_probe, n_test=self.n_test, k=self.knn_k, vote=self.vote)

    def to_dict(self) -> dict:
        """Plain values (lists for n and B), as a grid spec takes them."""
        out = asdict(self)
        out["n"], out["B"] = list(self.n), list(self.B)
        return out

    @classmethod
    def from_params(cls, params: dict) -> ToySettings:
        """From a grid cell's parameters (the names of the fields; others are ignored)."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in params.items() if k in names}
        for axis in ("n", "B"):
            if axis in kw:
                kw[axis] = tuple(kw[axis]) if isinstance(kw[axis], (list, tuple)) else (kw[axis],)
        return cls(**kw)


@dataclass(frozen=True)
class CapacitySweep:
    """`benign toy capacity`: C_t against K and t, with the mixture and optimiser of `ToySettings`."""

    K: tuple[int, ...] = (4, 8, 16, 32, 64)  # prototype counts
    steps: tuple[int, ...] = (ToyTraining.steps,)  # budgets t
    R: int = 4  # random labellings tried per n
    B: int = 1  # augmentations per sample (n*B is the effective sample size)
    n_max: int = CAPACITY_N_MAX
    predict: str = "soft"  # soft: arg-max of g_V; hard: the nearest prototype
    repeats: int = 1  # independent searches, each with its own points and labellings: the spread
    fixed_points: bool = True  # definition D.1: the points stay, the R labellings vary

    def validate(self) -> None:
        _check_sizes("K", self.K)
        _check_sizes("steps", self.steps)
        if self.R > 1000:
            raise ValueError(f"R must be at most 1000, got {self.R}")
        for name in ("R", "B", "n_max", "repeats"):
            _check_sizes(name, [getattr(self, name)])
        if self.predict not in PREDICTS:
            raise ValueError(f"predict must be {' or '.join(PREDICTS)}, got {self.predict!r}")
