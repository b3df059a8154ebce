"""Turn-over dropout masks and the layer that applies them (companion paper 3, section 2.2, app. B).

Every training example i owns a deterministic mask m(i): for each masked layer, exactly half of its
units (neurons of a linear layer, whole feature maps of a convolution) are "seen". Training on
example i runs and updates only the seen sub-network m(i); the complementary mask ~m(i) is the
"muted" sub-network, which example i never touches. Memorization = loss(muted) - loss(seen).

Masks are a pure function of (seed, layer, example index, attempt): unit u of layer l is kept when
the counter-based uniform ``uniform(seed, l, i, attempt, u)`` ranks in the lower half of that row
(ties broken by the unit index, so exactly half is kept). ``MaskBank`` materialises all masks of a
data set once, checks that no two examples share the complete mask (all layers together) and, on
a collision, redraws the later example (by index) with attempt + 1 until it is unique; this is
deterministic and guarantees distinct masks whenever the mask space is large enough (it raises
ValueError when it is not). The bank stores the masks bit-packed (N x sum(units)/8 bytes: 30 MB for
60,000 examples x 4096 units) and unpacks a batch on demand.

Scaling (the paper is silent): kept units are multiplied by 2, as inverted dropout with p = 1/2
(Kobayashi et al.'s turn-over dropout is built on dropout p = 0.5), identically in training and in
evaluation, so every sub-network is always run the same way. With no mask at all the layer is the
identity, i.e. the full network; for a single masked layer (the MLP) its logits are exactly the
mean of the seen and the muted halves' logits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from benign.theory.counter_random import hash_keys

KEEP_SCALE = 2.0
_MAX_ATTEMPTS = 100_000


_U32 = np.uint32


def _finalise_u32(h: np.ndarray) -> np.ndarray:
    h = ((h >> _U32(16)) ^ h) * _U32(0x45D9F3B)  # uint32 arithmetic wraps mod 2^32 like `& _MASK32`
    h = ((h >> _U32(16)) ^ h) * _U32(0x45D9F3B)
    return (h >> _U32(16)) ^ h


def _fold_u32(h: np.ndarray, k: np.ndarray) -> np.ndarray:
    """One key folded into a hash: the same step as theory.counter_random.hash_keys, in uint32."""
    return _finalise_u32((h ^ (k * _U32(0x9E3779B))) + _U32(0x7F4A7C15))


def unit_hashes(seed: int, layer: int, examples: Tensor, attempts: Tensor, units: int) -> np.ndarray:
    """hash_keys(seed, layer, example, attempt, unit) for every (example, unit): (rows, units) uint32.

    The prefix (seed, layer, example, attempt) is hashed by hash_keys itself; the last fold over the
    units runs in numpy uint32 (10x faster than int64 torch, bit-identical; tested)."""
    prefix = hash_keys(seed, layer, examples, attempts).numpy().astype(np.uint32)
    return _fold_u32(prefix[:, None], np.arange(units, dtype=np.uint32)[None, :])


def _half_mask_rows(seed: int, layer: int, examples: Tensor, attempts: Tensor, units: int) -> Tensor:
    """Bool (len(examples), units): exactly units/2 True per row, a pure function of the keys.

    Unit u is kept when its hash ranks among the lower half of the row; ties are broken by u."""
    key = unit_hashes(seed, layer, examples, attempts, units).astype(np.int64) * units + np.arange(units)
    kth = np.partition(key, units // 2 - 1, axis=1)[:, units // 2 - 1 : units // 2]
    return torch.from_numpy(key <= kth)


def _pack(mask: Tensor) -> np.ndarray:
    return np.packbits(mask.numpy(), axis=1, bitorder="little")


_BITS = ((torch.arange(256)[:, None] >> torch.arange(8)) & 1).bool()  # byte -> its 8 bits, little-endian


def _unpack(packed: Tensor, units: int) -> Tensor:
    return _BITS[packed.long()].reshape(packed.shape[0], -1)[:, :units]


def mask_space_size(units: list[int]) -> float:
    """log2 of the number of distinct complete masks: sum_l log2 C(u_l, u_l/2)."""
    return sum(math.log2(math.comb(u, u // 2)) for u in units)


@dataclass
class MaskBank:
    """The turn-over masks of all examples of one data set, for a model with masked layers `units`."""

    units: list[int]
    n_examples: int
    seed: int = 0
    attempts: Tensor = field(init=False, repr=False)
    packed: list[Tensor] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.units = [int(u) for u in self.units]
        if not self.units:
            raise ValueError("a mask bank needs at least one masked layer")
        for u in self.units:
            if u < 2 or u % 2:
                raise ValueError(
                    f"turn-over dropout keeps exactly half of the units: {u} units is not even and >= 2"
                )
        if self.n_examples < 1:
            raise ValueError(f"n_examples must be >= 1, got {self.n_examples}")
        if math.log2(self.n_examples) > mask_space_size(self.units):
            raise ValueError(
                f"{self.n_examples} examples cannot have distinct masks: only "
                f"{2 ** mask_space_size(self.units):.0f} exist for layers of {self.units} units"
            )
        self.attempts = torch.zeros(self.n_examples, dtype=torch.int64)
        self.packed = [torch.empty(0)] * len(self.units)
        self._build()

    # -- construction -------------------------------------------------------------------------
    def _draw(self, examples: Tensor, attempts: Tensor) -> list[np.ndarray]:
        return [
            _pack(_half_mask_rows(self.seed, layer, examples, attempts, u))
            for layer, u in enumerate(self.units)
        ]

    def _build(self, chunk: int = 4096) -> None:
        n = self.n_examples
        packed = [np.empty((n, (u + 7) // 8), dtype=np.uint8) for u in self.units]
        for start in range(0, n, chunk):
            ex = torch.arange(start, min(start + chunk, n), dtype=torch.int64)
            for layer, rows in enumerate(self._draw(ex, self.attempts[ex])):
                packed[layer][start : start + len(ex)] = rows
        seen: dict[bytes, int] = {}
        for i in range(n):  # deterministic: the lower index keeps its mask, the later one redraws
            key = b"".join(p[i].tobytes() for p in packed)
            while key in seen:
                self.attempts[i] += 1
                if self.attempts[i] > _MAX_ATTEMPTS:
                    raise ValueError(
                        f"could not find a distinct mask for example {i} after {_MAX_ATTEMPTS} draws"
                    )
                rows = self._draw(torch.tensor([i]), self.attempts[i : i + 1])
                for layer, r in enumerate(rows):
                    packed[layer][i] = r[0]
                key = b"".join(p[i].tobytes() for p in packed)
            seen[key] = i
        self.packed = [torch.from_numpy(p) for p in packed]

    # -- use ----------------------------------------------------------------------------------
    @property
    def n_redrawn(self) -> int:
        return int((self.attempts > 0).sum())

    def masks(self, index: Tensor, muted: bool = False, device=None, dtype=torch.float32) -> list[Tensor]:
        """Per-layer float masks (len(index), units_l) with values in {0, KEEP_SCALE}.

        muted=False gives the examples' seen sub-networks, muted=True their complements.
        """
        index = torch.as_tensor(index, dtype=torch.int64).cpu()
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= self.n_examples):
            raise IndexError(f"example index out of range [0, {self.n_examples})")
        out = []
        for p, u in zip(self.packed, self.units):
            m = _unpack(p[index], u)
            if muted:
                m = ~m
            out.append(m.to(device=device, dtype=dtype) * KEEP_SCALE)
        return out

    def bool_masks(self, index: Tensor) -> list[Tensor]:
        index = torch.as_tensor(index, dtype=torch.int64).cpu()
        return [_unpack(p[index], u) for p, u in zip(self.packed, self.units)]


class TurnoverDropout(nn.Module):
    """Multiply units by a per-example mask (values {0, KEEP_SCALE}).

    Linear (spatial=False): x (..., units) * mask (..., units). Convolution (spatial=True, "2D spatial
    turn-over dropout"): x (..., C, H, W) * mask (..., C) broadcast over H, W, so whole feature maps are
    kept or zeroed. Works batched and per example under torch.func.vmap. mask=None is the identity
    (the full network)."""

    def __init__(self, units: int, spatial: bool = False):
        super().__init__()
        self.units = int(units)
        self.spatial = bool(spatial)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        if mask is None:
            return x
        channel_dim = -3 if self.spatial else -1
        if mask.shape[-1] != self.units or x.shape[channel_dim] != self.units:
            raise ValueError(
                f"mask of {mask.shape[-1]} units for a layer of {self.units} (input {tuple(x.shape)})"
            )
        if self.spatial:
            mask = mask[..., None, None]
        return x * mask

    def extra_repr(self) -> str:
        return f"units={self.units}, spatial={self.spatial}"
