"""Data augmentation as batched tensor ops on the device, with a fresh random draw for every image.

The SimCLR pipeline of section 4 / table 6 (RandomResizedCrop scale (0.08, 1) ratio (3/4, 4/3),
horizontal flip 0.5, colour jitter (0.8, 0.8, 0.8, 0.2) with p = 0.8 in a random order per image,
grayscale 0.2), mixup (the paper's mixed x and y, or the authors' x only on 80% of batches),
RandAugment strength levels (figure 12), fixed banks of B augmentations per image (figure 6), and
the i.i.d. "augmentations" of table 3. Each op matches torchvision.transforms.v2.functional on a
single float image given the same parameters (tests/empirical/test_augment.py states tolerances).
Each value's source (the paper or the authors' code): docs/training-protocol.md.

Random parameters come from a `Draws` source: `GeneratorDraws` (a torch.Generator, fresh draws) or
`BankDraws` (counter-based, a pure function of (seed, image index, augmentation index), so a bank
of B augmentations per image needs no storage and no two images share parameters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from benign.theory.counter_random import uniform as keyed_uniform

# --- random parameter sources ----------------------------------------------------------------------


class GeneratorDraws:
    """Fresh parameters from a torch.Generator (on the images' device)."""

    def __init__(self, n: int, generator: torch.Generator | None = None, device="cpu"):
        self.n, self.generator, self.device = n, generator, torch.device(device)

    def uniform(self, stream: int, k: int = 1) -> Tensor:
        return torch.rand((self.n, k), generator=self.generator, device=self.device)


class BankDraws:
    """Parameters of augmentation `aug_index[i]` of image `image_index[i]`, fixed by the seed."""

    def __init__(self, seed: int, image_index: Tensor, aug_index: Tensor):
        self.seed = int(seed)
        self.image_index = torch.as_tensor(image_index).long().flatten()
        self.aug_index = torch.as_tensor(aug_index, device=self.image_index.device).long().flatten()
        self.n = self.image_index.numel()
        self.device = self.image_index.device

    def uniform(self, stream: int, k: int = 1) -> Tensor:
        cols = torch.arange(k, device=self.device)[None]
        return keyed_uniform(
            self.seed, self.image_index[:, None], self.aug_index[:, None], stream, cols, device=self.device
        )


# Stream ids keep the draws of different ops independent under BankDraws.
_CROP, _FLIP, _JITTER, _GRAY, _RA_OP, _RA_SIGN = 1, 2, 3, 4, 5, 6


def as_float(images: Tensor) -> Tensor:
    return images.float().div_(255) if images.dtype == torch.uint8 else images.float()


def _col(v: Tensor) -> Tensor:
    return v.reshape(-1, 1, 1, 1)


# --- geometry ---------------------------------------------------------------------------------------


def random_resized_crop_params(
    draws, height: int, width: int, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), tries: int = 10
) -> Tensor:
    """(n, 4) int boxes (top, left, h, w) drawn exactly as torchvision's RandomResizedCrop.get_params:
    up to 10 tries of area ~ U(scale) and log aspect ~ U(log ratio), else a central crop."""
    u = draws.uniform(_CROP, 4 * tries).view(-1, tries, 4).double()
    area = height * width * (scale[0] + (scale[1] - scale[0]) * u[..., 0])
    log_r = math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * u[..., 1]
    aspect = log_r.exp()
    w = (area * aspect).sqrt().round().long()
    h = (area / aspect).sqrt().round().long()
    ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    top = (u[..., 2] * (height - h + 1)).floor().long()
    left = (u[..., 3] * (width - w + 1)).floor().long()
    first = torch.where(ok.any(1), ok.float().argmax(1), torch.full_like(ok[:, 0], -1, dtype=torch.long))
    in_ratio = width / height
    if in_ratio < min(ratio):
        fw, fh = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        fh, fw = height, int(round(height * max(ratio)))
    else:
        fw, fh = width, height
    fallback = torch.tensor([(height - fh) // 2, (width - fw) // 2, fh, fw], device=u.device)
    boxes = torch.stack([top, left, h, w], -1)  # (n, tries, 4)
    picked = boxes.gather(1, first.clamp_min(0)[:, None, None].expand(-1, 1, 4))[:, 0]
    return torch.where((first >= 0)[:, None], picked, fallback)


def resized_crop(images: Tensor, boxes: Tensor, size: tuple[int, int], flip: Tensor | None = None) -> Tensor:
    """Crop box i of image i and resize it bilinearly to `size`, like F.resized_crop (align_corners
    False; sampling clamped to the box, as interpolate clamps at the crop's edge). One grid_sample
    for the whole batch. Exact for up-sampling (every crop of the image to its own size); for
    down-sampling torchvision's antialiasing is not reproduced. With a boolean `flip` (n,), image i
    is also mirrored left-right where flip[i]: its sampling columns are read in reverse order, which
    gives the same values as `hflip` after the crop, without another pass over the pixels."""
    n, _, H, W = images.shape
    ho, wo = size
    boxes = boxes.to(images.device, torch.float32)
    top, left, h, w = boxes.unbind(1)
    r = torch.arange(ho, device=images.device, dtype=torch.float32)
    c = torch.arange(wo, device=images.device, dtype=torch.float32)
    ys = ((r[None] + 0.5) * (h / ho)[:, None] - 0.5).clamp_min(0)
    ys = torch.minimum(ys, (h - 1)[:, None]) + top[:, None]
    xs = ((c[None] + 0.5) * (w / wo)[:, None] - 0.5).clamp_min(0)
    xs = torch.minimum(xs, (w - 1)[:, None]) + left[:, None]
    if flip is not None:
        xs = torch.lerp(xs, xs.flip(1), _weight(flip, xs)[:, None])
    gy = (2 * ys + 1) / H - 1  # pixel centres -> [-1, 1], align_corners=False
    gx = (2 * xs + 1) / W - 1
    grid = torch.stack([gx[:, None, :].expand(n, ho, wo), gy[:, :, None].expand(n, ho, wo)], -1)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _weight(mask: Tensor, like: Tensor) -> Tensor:
    return mask.to(device=like.device, dtype=like.dtype)


def _select(mask: Tensor, yes: Tensor, no: Tensor) -> Tensor:
    """Image i of `yes` where mask[i], else of `no`. torch.lerp is exact at weights 0 and 1
    (it computes `no + w (yes - no)` for w < 1/2, `yes - (yes - no)(1 - w)` otherwise) and, on the
    CPU, many times faster than torch.where with a broadcast mask."""
    return torch.lerp(no, yes, _col(_weight(mask, no)))


def hflip(images: Tensor, mask: Tensor) -> Tensor:
    return _select(mask, images.flip(-1), images)


def affine_nearest(images: Tensor, angle: Tensor, translate: Tensor, shear: Tensor) -> Tensor:
    """Per-image affine about the centre (degrees; translate in pixels (n, 2); shear in degrees (n, 2)),
    nearest neighbour, zero fill: F.affine(..., scale=1, interpolation=NEAREST) batched."""
    n, _, H, W = images.shape
    rot = torch.deg2rad(angle.float())
    sx, sy = torch.deg2rad(shear[:, 0].float()), torch.deg2rad(shear[:, 1].float())
    # torchvision's forward matrix: T * C * R(angle) * Shear * C^-1 (see _get_inverse_affine_matrix)
    a = torch.cos(rot - sy) / torch.cos(sy)
    b = -torch.cos(rot - sy) * torch.tan(sx) / torch.cos(sy) - torch.sin(rot)
    c = torch.sin(rot - sy) / torch.cos(sy)
    d = -torch.sin(rot - sy) * torch.tan(sx) / torch.cos(sy) + torch.cos(rot)
    # its inverse as torchvision writes it (exact when det = 1, which rotation-shear has)
    inv = torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2)
    t = translate.float().to(images.device)
    # output pixel p (centred coords) comes from inv @ (p - t)
    ys = torch.arange(H, device=images.device, dtype=torch.float32) - (H - 1) / 2
    xs = torch.arange(W, device=images.device, dtype=torch.float32) - (W - 1) / 2
    py, px = torch.meshgrid(ys, xs, indexing="ij")
    p = torch.stack([px, py], -1).reshape(1, -1, 2) - t[:, None, :]
    src = p @ inv.transpose(1, 2)  # (n, HW, 2) x,y
    gx = (src[..., 0] + (W - 1) / 2) * 2 / W + 1 / W - 1
    gy = (src[..., 1] + (H - 1) / 2) * 2 / H + 1 / H - 1
    grid = torch.stack([gx, gy], -1).view(n, H, W, 2)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


# --- colour -----------------------------------------------------------------------------------------


def grayscale(images: Tensor) -> Tensor:
    """ITU-R 601 luma (torchvision's weights), shape (n, 1, H, W); 1-channel images pass through."""
    if images.shape[1] == 1:
        return images
    r, g, b = images.unbind(1)
    return (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(1)


def _blend(a: Tensor, b: Tensor, factor: Tensor) -> Tensor:
    f = _col(factor)
    return (f * a + (1 - f) * b).clamp_(0, 1)


def adjust_brightness(images: Tensor, factor: Tensor) -> Tensor:
    return (images * _col(factor)).clamp_(0, 1)


def adjust_contrast(images: Tensor, factor: Tensor) -> Tensor:
    mean = grayscale(images).mean((1, 2, 3), keepdim=True)
    return _blend(images, mean, factor)


def adjust_saturation(images: Tensor, factor: Tensor) -> Tensor:
    if images.shape[1] == 1:
        return images
    return _blend(images, grayscale(images), factor)


def adjust_hue(images: Tensor, factor: Tensor) -> Tensor:
    """F.adjust_hue batched: RGB -> HSV, h <- (h + factor) mod 1, HSV -> RGB. V = max and
    V - V S = min do not change, so the round trip is written in closed form: with h6 = 6 h,
    channel n (r: 5, g: 3, b: 1) is max - (max - min) clamp(min(k, 4 - k), 0, 1), k = (n + h6) mod 6
    (the standard HSV -> RGB formula; it equals torchvision's six-sector table). h6 follows
    torchvision's _rgb_to_hsv. No torch.where: masks enter as 0/1 factors (faster on the CPU)."""
    if images.shape[1] == 1:
        return images
    r, g, b = images.unbind(1)
    maxc, minc = images.amax(1), images.amin(1)
    delta = maxc - minc
    # where delta = 0 all channels are equal, so any finite hue gives max: a tiny divisor will do
    d = delta.clamp_min(1e-12)
    is_r = (maxc == r).to(images.dtype)
    is_g = (maxc == g).to(images.dtype).mul_(1 - is_r)
    is_b = 1 - is_r - is_g
    h6 = is_r * (g - b) + is_g * (b - r + 2 * d) + is_b * (r - g + 4 * d)
    h6 = h6.div_(d).add_(6 + 6 * factor.view(-1, 1, 1).to(images.dtype))  # in [-1, 5] + 6 + [-3, 3]
    h6 = h6.sub_(h6.div(6).floor_().mul_(6))  # mod 6 -> [0, 6)
    out = []
    for n in (5, 3, 1):
        k = h6 + n
        k = k.sub_((k >= 6).to(k.dtype).mul_(6))  # (n + h6) mod 6
        k = torch.minimum(k, 4 - k).clamp_(0, 1)
        out.append(torch.addcmul(maxc, delta, k, value=-1))
    return torch.stack(out, 1)


def to_grayscale_where(images: Tensor, mask: Tensor) -> Tensor:
    if images.shape[1] == 1:
        return images
    return _select(mask, grayscale(images).expand_as(images), images)


def color_jitter(images: Tensor, draws, strength=(0.8, 0.8, 0.8, 0.2), p: float = 0.8) -> Tensor:
    """ColorJitter(b, c, s, h) applied with probability p; every image draws its own factors and its
    own order of the four ops (torchvision draws one permutation per call, i.e. per image)."""
    b, c, s, hue = strength
    u = draws.uniform(_JITTER, 9)
    apply = u[:, 0] < p
    lo_hi = lambda x: (max(0.0, 1 - x), 1 + x)
    factors = []
    for j, x in enumerate((b, c, s)):
        lo, hi = lo_hi(x)
        factors.append(lo + (hi - lo) * u[:, 1 + j])
    factors.append(-hue + 2 * hue * u[:, 4])
    order = u[:, 5:9].argsort(1)  # a uniform random permutation per image
    ops = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
    out = images.clone()
    which = torch.where(apply[:, None], order, -1)  # (n, 4): the op of each slot, -1 for none
    for slot in range(4):
        for k, op in enumerate(ops):
            if k >= 2 and images.shape[1] == 1:
                continue
            sel = (which[:, slot] == k).nonzero().flatten()
            if sel.numel():
                out.index_copy_(0, sel, op(out.index_select(0, sel), factors[k].index_select(0, sel)))
    return out


# --- RandAugment (figure 12) -------------------------------------------------------------------------

RANDAUGMENT_OPS = (
    "identity",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "rotate",
    "brightness",
    "color",
    "contrast",
    "sharpness",
    "posterize",
    "solarize",
    "autocontrast",
    "equalize",
)


def randaugment_magnitude(op: str, level: int, height: int, width: int, bins: int = 31) -> float:
    """torchvision's RandAugment table (num_magnitude_bins = 31), entry `level` in 0..30."""
    frac = level / (bins - 1)
    return {
        "shear_x": 0.3 * frac,
        "shear_y": 0.3 * frac,
        "translate_x": 150.0 / 331.0 * width * frac,
        "translate_y": 150.0 / 331.0 * height * frac,
        "rotate": 30.0 * frac,
        "brightness": 0.9 * frac,
        "color": 0.9 * frac,
        "contrast": 0.9 * frac,
        "sharpness": 0.9 * frac,
        "posterize": float(8 - int(round(level / ((bins - 1) / 4)))),
        "solarize": 1.0 - frac,
    }.get(op, 0.0)


def adjust_sharpness(images: Tensor, factor: Tensor) -> Tensor:
    k = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], device=images.device) / 13
    c = images.shape[1]
    blurred = F.conv2d(images, k.expand(c, 1, 3, 3), groups=c).clamp(0, 1)
    degenerate = images.clone()
    degenerate[..., 1:-1, 1:-1] = blurred
    return _blend(images, degenerate, factor)


def posterize(images: Tensor, bits: int) -> Tensor:
    mask = -int(2 ** (8 - bits))  # keep the top `bits` bits, as on uint8
    return ((images * 255).round().to(torch.int32) & mask).float() / 255


def solarize(images: Tensor, threshold: Tensor) -> Tensor:
    return torch.where(images >= _col(threshold), 1 - images, images)


def autocontrast(images: Tensor) -> Tensor:
    lo = images.amin((2, 3), keepdim=True)
    hi = images.amax((2, 3), keepdim=True)
    scale = torch.where(hi > lo, 1.0 / (hi - lo).clamp_min(1e-12), torch.ones_like(hi))
    lo = torch.where(hi > lo, lo, torch.zeros_like(lo))
    return ((images - lo) * scale).clamp(0, 1)


def equalize(images: Tensor) -> Tensor:
    from torchvision.transforms.v2.functional import equalize as tv_equalize  # batched already

    return tv_equalize((images * 255).round().byte()).float() / 255


def randaugment(images: Tensor, draws, level: int, num_ops: int = 2) -> Tensor:
    """RandAugment(num_ops, magnitude=level) with an independent op, sign per image and slot.
    Geometric ops: nearest neighbour, zero fill (torchvision's defaults)."""
    n, _, H, W = images.shape
    out = images.clone()
    u_op = draws.uniform(_RA_OP, num_ops)
    u_sign = draws.uniform(_RA_SIGN, num_ops)
    zero2 = lambda m: torch.zeros(m, 2, device=images.device)
    for slot in range(num_ops):
        op_idx = (u_op[:, slot] * len(RANDAUGMENT_OPS)).long().clamp_max(len(RANDAUGMENT_OPS) - 1)
        sign = torch.where(u_sign[:, slot] < 0.5, -1.0, 1.0)
        for k, name in enumerate(RANDAUGMENT_OPS):
            sel = (op_idx == k).nonzero().flatten()
            if not sel.numel() or name == "identity":
                continue
            x, m = out[sel], randaugment_magnitude(name, level, H, W)
            sg = sign[sel]
            z = torch.zeros(sel.numel(), device=images.device)
            if name in ("shear_x", "shear_y"):
                deg = torch.rad2deg(torch.atan(m * sg))
                sh = torch.stack([deg, z] if name == "shear_x" else [z, deg], 1)
                x = affine_nearest(x, z, zero2(sel.numel()), sh)
            elif name in ("translate_x", "translate_y"):
                t = (m * sg).trunc()  # torchvision casts the translation to int
                tr = torch.stack([t, z] if name == "translate_x" else [z, t], 1)
                x = affine_nearest(x, z, tr, zero2(sel.numel()))
            elif name == "rotate":
                x = affine_nearest(x, m * sg, zero2(sel.numel()), zero2(sel.numel()))
            elif name == "brightness":
                x = adjust_brightness(x, 1 + m * sg)
            elif name == "color":
                x = adjust_saturation(x, 1 + m * sg)
            elif name == "contrast":
                x = adjust_contrast(x, 1 + m * sg)
            elif name == "sharpness":
                x = adjust_sharpness(x, 1 + m * sg)
            elif name == "posterize":
                x = posterize(x, int(m))
            elif name == "solarize":
                x = solarize(x, torch.full_like(z, m))
            elif name == "autocontrast":
                x = autocontrast(x)
            elif name == "equalize":
                x = equalize(x)
            out[sel] = x
    return out


# --- the pipeline -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Augmentation:
    """What to apply to a batch. `parse_augmentation` builds it from 'none', 'simclr',
    'randaugment:<level>' or 'simclr+randaugment:<level>'."""

    simclr: bool = True
    randaugment_level: int | None = None
    randaugment_ops: int = 2
    crop_scale: tuple = (0.08, 1.0)
    crop_ratio: tuple = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter: tuple = (0.8, 0.8, 0.8, 0.2)
    jitter_p: float = 0.8
    gray_p: float = 0.2

    @property
    def is_identity(self) -> bool:
        return not self.simclr and self.randaugment_level is None

    def __call__(self, images: Tensor, draws=None, generator: torch.Generator | None = None) -> Tensor:
        """uint8 or [0, 1] float (n, C, H, W) -> augmented float32 in [0, 1], same size."""
        x = as_float(images)
        if self.is_identity:
            return x
        if draws is None:
            draws = GeneratorDraws(x.shape[0], generator, x.device)
        if self.randaugment_level is not None:
            x = randaugment(x, draws, self.randaugment_level, self.randaugment_ops)
        if self.simclr:
            H, W = x.shape[-2:]
            boxes = random_resized_crop_params(draws, H, W, self.crop_scale, self.crop_ratio)
            x = resized_crop(x, boxes, (H, W), flip=draws.uniform(_FLIP)[:, 0] < self.flip_p)
            x = color_jitter(x, draws, self.jitter, self.jitter_p)
            x = to_grayscale_where(x, draws.uniform(_GRAY)[:, 0] < self.gray_p)
        return x


def parse_augmentation(spec: str) -> Augmentation:
    spec = spec.strip().lower()
    if spec in ("none", "", "off"):
        return Augmentation(simclr=False)
    simclr, level = False, None
    for part in spec.split("+"):
        if part == "simclr":
            simclr = True
        elif part.startswith("randaugment"):
            _, _, lvl = part.partition(":")
            try:
                level = int(lvl) if lvl else 9
            except ValueError:
                raise ValueError(f"randaugment level must be an integer 0..30, got {lvl!r}") from None
            if not 0 <= level <= 30:
                raise ValueError(f"randaugment level must be in 0..30, got {level}")
        else:
            raise ValueError(
                f"unknown augmentation {part!r}; use none, simclr, randaugment:<0..30> or simclr+randaugment:<level>"
            )
    return Augmentation(simclr=simclr, randaugment_level=level)


# --- mixup ---------------------------------------------------------------------------------------------


def mixup(
    images: Tensor,
    targets: Tensor,
    generator: torch.Generator | None = None,
    alpha: float = 1.0,
    mode: str = "xy",
    batch_p: float = 0.8,
):
    """Mix every image with a randomly paired one of the batch, lambda ~ Beta(alpha, alpha).

    mode 'xy': the paper's mixup (section 4): x and the one-hot targets mixed alike, one lambda per
    image.
    mode 'x': the authors' code (da.py): inputs only, on a share `batch_p` of the batches, one lambda
    for the whole batch; targets unchanged.
    Returns (images, targets)."""
    if mode not in ("xy", "x"):
        raise ValueError(f"mixup mode must be 'xy' or 'x', got {mode!r}")
    n, dev = images.shape[0], images.device
    if mode == "x" and torch.rand((), generator=generator, device=dev).item() >= batch_p:
        return images, targets
    perm = torch.randperm(n, generator=generator, device=dev)
    u = torch.rand(n if mode == "xy" else 1, generator=generator, device=dev)
    if alpha != 1.0:  # Beta(alpha, alpha) by inverse CDF; alpha = 1 is the uniform law
        from scipy.special import betaincinv

        u = torch.as_tensor(
            betaincinv(alpha, alpha, u.double().cpu().numpy()), dtype=torch.float32, device=dev
        )
    lam = u.expand(n)
    x = _col(lam) * images + _col(1 - lam) * images[perm]
    if mode == "xy":
        targets = lam[:, None] * targets + (1 - lam[:, None]) * targets[perm]
    return x, targets


# --- i.i.d. "augmentations" (table 3) -------------------------------------------------------------------


def iid_bank(labels: Tensor, subset_index: Tensor, num_augmentations: int, seed: int) -> Tensor:
    """(s, B) indices: for each subset image, B distinct other images of its true class drawn from
    outside the subset (rows may share images when the class pool is smaller than s_c * B, as with
    the paper's s = 1000, B = 50 on CIFAR-10's 49 000 remaining images)."""
    labels = labels.cpu()
    subset_index = subset_index.cpu().long()
    outside = torch.ones(len(labels), dtype=torch.bool)
    outside[subset_index] = False
    bank = torch.empty(len(subset_index), num_augmentations, dtype=torch.long)
    for c in labels[subset_index].unique().tolist():
        rows = (labels[subset_index] == c).nonzero().flatten()
        pool = (outside & (labels == c)).nonzero().flatten()
        if len(pool) < num_augmentations:
            raise ValueError(
                f"class {c} has {len(pool)} images outside the subset, fewer than B = {num_augmentations}"
            )
        rank = keyed_uniform(seed, 0x11D, subset_index[rows][:, None], pool[None], dtype=torch.float64)
        bank[rows] = pool[rank.topk(num_augmentations, dim=1, largest=False).indices]
    return bank
