"""Counter-based random numbers: a value is a pure function of integer keys.

A fixed bank of B augmentations per sample (appendix E, figure 6) must be reproducible from
(seed, sample index, augmentation index) without storing n*B vectors, and a grid of cells must
draw its data in one vectorised call. So every random number here is hash(keys) rather than the
next draw of a stateful generator: keys that differ in any position give independent draws, and
the same keys give the same draw on CPU and CUDA.

The hash is the 32-bit integer finaliser of Wang/Mueller (constant 0x45d9f3b), applied to the keys
folded in one by one with a golden-ratio multiplier; arithmetic stays below 2^63 so int64 tensors
never overflow.

Hand-written because no maintained library fits: torch.Generator and numpy's Generator are stateful
streams (a draw depends on every draw before it, and torch's CPU and CUDA streams differ); numpy's
Philox bit generator takes one key per generator object and runs on the CPU only, not on a tensor of
keys; JAX's threefry, the counter-based generator that would fit, would bring JAX in for one function.
The few lines here are checked for uniformity and independence in tests/theory/test_counter_random.py.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

_MASK32 = 0xFFFFFFFF
_MUL = 0x45D9F3B
_GOLDEN = 0x9E3779B  # 28 bits: key (< 2^32) * _GOLDEN < 2^60


def _finalise(h: Tensor) -> Tensor:
    h = ((h >> 16) ^ h) * _MUL & _MASK32
    h = ((h >> 16) ^ h) * _MUL & _MASK32
    return (h >> 16) ^ h


def hash_keys(*keys, device=None) -> Tensor:
    """A 32-bit hash (int64 tensor in [0, 2^32)) of integer keys, broadcast together."""
    tensors = [torch.as_tensor(k, dtype=torch.int64, device=device) for k in keys]
    h = torch.zeros((), dtype=torch.int64, device=tensors[0].device if tensors else device)
    for k in tensors:
        h = _finalise((h ^ ((k & _MASK32) * _GOLDEN & _MASK32)) + 0x7F4A7C15 & _MASK32)
    return h


def uniform(*keys, dtype=torch.float32, device=None) -> Tensor:
    """U(0, 1), open at both ends, one draw per broadcast key tuple."""
    h = hash_keys(*keys, device=device)
    return ((h.double() + 0.5) / 2.0**32).to(dtype)


def normal(*keys, dtype=torch.float32, device=None) -> Tensor:
    """N(0, 1) by Box-Muller on two uniforms derived from the keys."""
    u1 = uniform(*keys, 0x5EED01, dtype=torch.float64, device=device)
    u2 = uniform(*keys, 0x5EED02, dtype=torch.float64, device=device)
    return (torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)).to(dtype)


def integers(high, *keys, device=None) -> Tensor:
    """Uniform integers in [0, high) (high broadcasts against the keys)."""
    u = uniform(*keys, dtype=torch.float64, device=device)
    high = torch.as_tensor(high, device=u.device)
    return torch.minimum((u * high).long(), high - 1)
