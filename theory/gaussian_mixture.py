"""The Gaussian-mixture toy of appendix E.

x in R^d; the first d1 coordinates carry the class z ~ U{0..C-1}: x[:d1] | z=k ~ N(mu_k, Sigma1),
the rest is noise x[d1:] ~ N(0, Sigma2). An augmentation adds a with a[:d1] = 0,
a[d1:] ~ N(0, Sigma3), and Sigma3 = Sigma2 = 10 Sigma1 = sigma^2 I (the paper's choice).
The centres mu_k ~ N(0, centre_scale^2 I) are drawn once per seed.

Every draw is a function of (seed, stream, index, ...) (theory.counter_random), so that point i of a
seed is the same whatever n is (grids over n are nested), the bank of B fixed augmentations of point
i contains the bank of any B' < B, and a whole grid of cells draws its data in one vectorised call.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from benign.theory import counter_random as cr

# Streams keep the draws of different roles independent.
TRAIN, PROBE, TEST, AUGMENT, LABEL, CENTRE, MODEL = range(1, 8)
BANK_BLOCK = 64


@dataclass(frozen=True)
class GaussianMixture:
    C: int = 5  # classes (figure 14: 5, random guessing 0.2)
    d: int = 40  # input dimension
    d1: int = 4  # signal coordinates; d1 <= C - 1 so the C centres span them all (docs/toy.md)
    sigma: float = 1.0  # noise scale: Sigma2 = Sigma3 = sigma^2 I, Sigma1 = sigma^2/10 I
    centre_scale: float = (
        1.0  # mu_k ~ N(0, centre_scale^2 I_d1): k-NN at initialisation ~0.5, after invariance ~0.9
    )

    def __post_init__(self):
        if self.C < 2:
            raise ValueError(f"C must be at least 2, got {self.C}")
        if not 0 < self.d1 < self.d:
            raise ValueError(f"need 0 < d1 < d, got d1={self.d1}, d={self.d}")
        if not self.sigma > 0 or not self.centre_scale > 0:
            raise ValueError("sigma and centre_scale must be positive")

    def to_dict(self) -> dict:
        return asdict(self)

    def centres(self, seed) -> Tensor:
        """(..., C, d1) cluster centres for each seed (seed broadcasts as a tensor of shape (...))."""
        seed = torch.as_tensor(seed)[..., None, None]
        k = torch.arange(self.C)[:, None]
        j = torch.arange(self.d1)
        return self.centre_scale * cr.normal(seed, CENTRE, k, j)

    def classes(self, seed, index, stream: int = TRAIN) -> Tensor:
        """True class of point `index` of `stream` (seed and index broadcast)."""
        return cr.integers(self.C, seed, stream, index, 0)

    def points(self, seed, index, stream: int = TRAIN, dtype=torch.float32) -> tuple[Tensor, Tensor]:
        """Clean points x (..., d) and their classes z (...), for broadcast seed and index."""
        seed = torch.as_tensor(seed)
        index = torch.as_tensor(index)
        seed, index = torch.broadcast_tensors(seed, index)
        z = self.classes(seed, index, stream)
        coord = torch.arange(self.d)
        eps = cr.normal(seed[..., None], stream, index[..., None], 1, coord, dtype=dtype)
        std = torch.full((self.d,), self.sigma, dtype=dtype)
        std[: self.d1] = self.sigma / math.sqrt(10.0)
        x = eps * std
        mu = self.centres(seed).to(dtype)  # (..., C, d1)
        x[..., : self.d1] += torch.take_along_dim(
            mu, z[..., None, None].expand(*z.shape, 1, self.d1), dim=-2
        )[..., 0, :]
        return x, z

    def augmentation_bank(self, seed: int, n: int, B: int, dtype=torch.float32) -> Tensor:
        """The fixed augmentations a[d1:] of points 0..n-1 of `seed`: (n, B, d - d1); a_0 = 0, the identity.

        Drawn in blocks of BANK_BLOCK points x BANK_BLOCK augmentations, each from a generator seeded
        by hash(seed, block): entry (i, b) does not depend on n or B, so banks are nested (the bank
        for B contains the bank for any B' < B), at the cost of one randn call per block.
        """
        if n < 1 or B < 1:
            raise ValueError("n and B must be positive")
        D, blk = self.d - self.d1, BANK_BLOCK
        out = torch.empty(n, B, D, dtype=dtype)
        for bi in range(0, n, blk):
            for bb in range(0, B, blk):
                g = torch.Generator().manual_seed(int(cr.hash_keys(seed, AUGMENT, bi // blk, bb // blk, D)))
                block = torch.randn(blk, blk, D, generator=g, dtype=dtype)
                out[bi : bi + blk, bb : bb + blk] = block[: min(blk, n - bi), : min(blk, B - bb)]
        out *= self.sigma
        out[:, 0] = 0
        return out

    def augment(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A fresh online augmentation of every row of x (..., d)."""
        a = torch.randn(*x.shape[:-1], self.d - self.d1, generator=generator, dtype=x.dtype, device=x.device)
        out = x.clone()
        out[..., self.d1 :] += self.sigma * a
        return out

    def random_labels(
        self, seed, index, num_labels: int | None = None, noise: float = 1.0, clean: Tensor | None = None
    ) -> Tensor:
        """Training labels: with probability `noise` a uniform label in [0, num_labels), else the true class.

        num_labels defaults to C; it may exceed C (figure 9), e.g. n for one class per sample.
        `clean` gives the true classes when the points come from another seed than the labels
        (default: the classes of the TRAIN points of `seed`).
        """
        num_labels = self.C if num_labels is None else num_labels
        if num_labels < 1 or not 0.0 <= noise <= 1.0:
            raise ValueError("need num_labels >= 1 and 0 <= noise <= 1")
        seed, index = torch.broadcast_tensors(torch.as_tensor(seed), torch.as_tensor(index))
        flip = cr.uniform(seed, LABEL, index, 0, dtype=torch.float64) < noise
        random = cr.integers(num_labels, seed, LABEL, index, 1)
        clean = self.classes(seed, index, TRAIN) if clean is None else torch.as_tensor(clean)
        return torch.where(flip, random, clean)
