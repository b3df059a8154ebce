"""Batched augmentations missing from empirical.augment: pad-and-crop, gaussian blur, and the two
pipelines of appendix A built from them.

Random parameters come from the same `Draws` sources as empirical.augment (fresh GeneratorDraws
for training, counter-based BankDraws for the fixed augmentations the profiles are measured on),
on stream ids of their own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from benign.empirical.augment import Augmentation, GeneratorDraws, as_float, hflip

_PAD_CROP, _PAD_FLIP, _BLUR = 21, 22, 23


def pad_crop(images: Tensor, draws, pad: int = 4) -> Tensor:
    """RandomCrop(size, padding=pad) with zero fill: each image its own offset in [0, 2 pad]."""
    n, c, h, w = images.shape
    u = draws.uniform(_PAD_CROP, 2)
    dy = (u[:, 0] * (2 * pad + 1)).long().clamp_max(2 * pad)
    dx = (u[:, 1] * (2 * pad + 1)).long().clamp_max(2 * pad)
    padded = F.pad(images, (pad, pad, pad, pad))
    rows = dy[:, None] + torch.arange(h, device=images.device)[None]
    cols = dx[:, None] + torch.arange(w, device=images.device)[None]
    i = torch.arange(n, device=images.device)[:, None, None, None]
    ch = torch.arange(c, device=images.device)[None, :, None, None]
    return padded[i, ch, rows[:, None, :, None], cols[:, None, None, :]]


def gaussian_blur(images: Tensor, sigma: Tensor, kernel_size: int) -> Tensor:
    """Separable gaussian blur, a sigma per image (torchvision's kernel, reflect padding)."""
    n, c, h, w = images.shape
    k = kernel_size // 2
    x = torch.arange(-k, k + 1, device=images.device, dtype=images.dtype)
    kern = torch.exp(-0.5 * (x[None] / sigma.to(images.dtype)[:, None]) ** 2)
    kern = kern / kern.sum(1, keepdim=True)  # (n, ks)
    weight = kern.repeat_interleave(c, 0)  # one kernel per (image, channel) plane
    flat = images.reshape(1, n * c, h, w)
    flat = F.pad(flat, (k, k, 0, 0), mode="reflect")
    flat = F.conv2d(flat, weight[:, None, None, :], groups=n * c)
    flat = F.pad(flat, (0, 0, k, k), mode="reflect")
    flat = F.conv2d(flat, weight[:, None, :, None], groups=n * c)
    return flat.reshape(n, c, h, w)


def blur_kernel_size(size: int) -> int:
    """SimCLR's kernel: about a tenth of the image side, odd, at least 3."""
    k = max(3, int(round(0.1 * size)))
    return k if k % 2 else k + 1


def random_blur(images: Tensor, draws, p: float = 0.5, sigma=(0.1, 2.0)) -> Tensor:
    u = draws.uniform(_BLUR, 2)
    s = sigma[0] + (sigma[1] - sigma[0]) * u[:, 1]
    ks = blur_kernel_size(images.shape[-1])
    if ks // 2 >= min(images.shape[-2:]):
        return images
    blurred = gaussian_blur(images, s, ks)
    return torch.where((u[:, 0] < p).view(-1, 1, 1, 1), blurred, images)


def weak(images: Tensor, draws) -> Tensor:
    """The supervised / random-label augmentation of appendix A (normalisation is done later)."""
    x = pad_crop(as_float(images), draws)
    return hflip(x, draws.uniform(_PAD_FLIP)[:, 0] < 0.5)


_SIMCLR = Augmentation(simclr=True)


def strong(images: Tensor, draws) -> Tensor:
    """SimCLR's: crop (0.08, 1), flip, colour jitter (p 0.8), grayscale (p 0.2), blur (p 0.5)."""
    return random_blur(_SIMCLR(images, draws=draws), draws)


def augment(kind: str, images: Tensor, draws=None, generator=None) -> Tensor:
    """uint8 or [0, 1] images -> float [0, 1]; kind none | weak | strong."""
    if kind == "none":
        return as_float(images)
    if draws is None:
        draws = GeneratorDraws(images.shape[0], generator, images.device)
    if kind == "weak":
        return weak(images, draws)
    if kind == "strong":
        return strong(images, draws)
    raise ValueError(f"unknown augmentation kind {kind!r}")
