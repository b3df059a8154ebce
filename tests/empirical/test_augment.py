"""Each batched op against torchvision.transforms.v2.functional on single float images.

Tolerance: 1e-5 absolute on [0, 1] images for the arithmetic ops (float32 rounding of the same
formulas), exact (0) for flips, affine nearest-neighbour ops, posterize, solarize, equalize; 4e-5 for
the colour jitter, a chain of four of the arithmetic ops.
"""

import pytest
import torch
import torchvision.transforms.v2 as T
import torchvision.transforms.v2.functional as TF

from benign.empirical import augment as A
from benign.empirical.labels import augmentation_labels

TOL = 1e-5


@pytest.fixture
def img():
    return torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("box", [(3, 5, 17, 21), (0, 0, 32, 32), (10, 0, 5, 30), (0, 31, 32, 1)])
def test_resized_crop_matches(img, box):
    ours = A.resized_crop(img, torch.tensor([box]), (32, 32))
    ref = TF.resized_crop(img, *box, [32, 32], antialias=True)
    assert (ours - ref).abs().max() < TOL


@pytest.mark.parametrize("f", [0.2, 0.77, 1.0, 1.8])
def test_colour_ops_match(img, f):
    t = torch.tensor([f])
    assert (A.adjust_brightness(img, t) - TF.adjust_brightness(img, f)).abs().max() < TOL
    assert (A.adjust_contrast(img, t) - TF.adjust_contrast(img, f)).abs().max() < TOL
    assert (A.adjust_saturation(img, t) - TF.adjust_saturation(img, f)).abs().max() < TOL
    assert (A.adjust_sharpness(img, t) - TF.adjust_sharpness(img, f)).abs().max() < TOL
    gray = img[:, :1]
    assert (A.adjust_contrast(gray, t) - TF.adjust_contrast(gray, f)).abs().max() < TOL


@pytest.mark.parametrize("h", [-0.2, -0.05, 0.13, 0.2, 0.5])
def test_hue_matches(img, h):
    assert (A.adjust_hue(img, torch.tensor([h])) - TF.adjust_hue(img, h)).abs().max() < TOL


def test_exact_ops(img):
    yes = torch.tensor([True])
    assert torch.equal(A.hflip(img, yes), TF.horizontal_flip(img))
    assert (A.to_grayscale_where(img, yes) - TF.rgb_to_grayscale(img, 3)).abs().max() < TOL
    z, z2 = torch.zeros(1), torch.zeros(1, 2)
    assert torch.equal(
        A.affine_nearest(img, torch.tensor([17.0]), z2, z2), TF.affine(img, 17.0, [0, 0], 1.0, [0.0, 0.0])
    )
    assert torch.equal(
        A.affine_nearest(img, z, z2, torch.tensor([[12.0, 0]])), TF.affine(img, 0.0, [0, 0], 1.0, [12.0, 0.0])
    )
    assert torch.equal(
        A.affine_nearest(img, z, torch.tensor([[4.0, -3]]), z2), TF.affine(img, 0.0, [4, -3], 1.0, [0.0, 0.0])
    )
    q = (img * 255).round() / 255
    assert torch.equal(A.posterize(q, 3), TF.posterize((q * 255).byte(), 3).float() / 255)
    assert torch.equal(A.solarize(img, torch.tensor([0.6])), TF.solarize(img, 0.6))
    assert torch.equal(A.equalize(q), TF.equalize((q * 255).round().byte()).float() / 255)
    assert (A.autocontrast(img) - TF.autocontrast(img)).abs().max() < TOL


def test_crop_params_follow_torchvision_law():
    draws = A.GeneratorDraws(4000, torch.Generator().manual_seed(1))
    b = A.random_resized_crop_params(draws, 32, 32).double()
    top, left, h, w = b.unbind(1)
    assert (h >= 1).all() and (w >= 1).all() and (top + h <= 32).all() and (left + w <= 32).all()
    area = h * w / 1024
    assert 0.06 <= area.min() and area.max() <= 1.0
    # torchvision's sampler on the same image size: compare the mean area (its sd ~ 0.27 / sqrt(4000))
    torch.manual_seed(2)
    ref = torch.tensor(
        [
            T.RandomResizedCrop.get_params(torch.zeros(3, 32, 32), [0.08, 1.0], [3 / 4, 4 / 3])[2:]
            for _ in range(4000)
        ]
    ).double()
    assert abs(area.mean() - (ref[:, 0] * ref[:, 1] / 1024).mean()) < 0.03


def test_per_image_parameters_differ_within_batch():
    x = torch.rand(1, 3, 32, 32).expand(64, -1, -1, -1)  # one image 64 times
    out = A.parse_augmentation("simclr")(x, generator=torch.Generator().manual_seed(0))
    flat = out.flatten(1)
    assert len({tuple(r.tolist()) for r in flat.round(decimals=4)}) == 64
    draws = A.GeneratorDraws(64, torch.Generator().manual_seed(0))
    boxes = A.random_resized_crop_params(draws, 32, 32)
    assert len({tuple(b.tolist()) for b in boxes}) > 50


def test_bank_reproducible_and_collision_free():
    aug = A.parse_augmentation("simclr")
    x = torch.rand(1, 3, 16, 16).expand(50, -1, -1, -1)
    i = torch.arange(50).repeat_interleave(4)  # 50 images x 4 augmentations
    b = torch.arange(4).repeat(50)
    d1 = A.BankDraws(7, i, b)
    params = torch.cat([d1.uniform(s, 40) for s in (1, 2, 3, 4)], 1)
    assert len({tuple(r.tolist()) for r in params}) == 200  # no two (image, augmentation) pairs alike
    xs = x.repeat_interleave(4, 0)
    assert torch.equal(aug(xs, draws=A.BankDraws(7, i, b)), aug(xs, draws=A.BankDraws(7, i, b)))
    assert not torch.equal(aug(xs, draws=A.BankDraws(8, i, b)), aug(xs, draws=A.BankDraws(7, i, b)))
    # the same (image, augmentation) gives the same view whatever batch it sits in
    one = aug(xs[5:6], draws=A.BankDraws(7, i[5:6], b[5:6]))
    assert torch.allclose(one, aug(xs, draws=A.BankDraws(7, i, b))[5:6])


def test_bank_labels():
    lab = torch.tensor([3, 1, 4])
    assert augmentation_labels(lab, 5, 10, 0, "image").tolist() == [[3] * 5, [1] * 5, [4] * 5]
    r = augmentation_labels(lab, 64, 10, 0, "random")
    assert r.shape == (3, 64) and r.min() >= 0 and r.max() < 10 and len(r.unique()) == 10
    assert torch.equal(r, augmentation_labels(lab, 64, 10, 0, "random"))


def test_grayscale_images_work():
    x = torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8)
    out = A.parse_augmentation("simclr+randaugment:9")(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == (16, 1, 28, 28) and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("level", [0, 9, 30])
def test_randaugment_levels(level):
    x = torch.rand(32, 3, 32, 32)
    out = A.parse_augmentation(f"randaugment:{level}")(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    assert A.randaugment_magnitude("rotate", level, 32, 32) == pytest.approx(30 * level / 30)


def test_none_is_identity_and_bad_specs():
    x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    assert torch.equal(A.parse_augmentation("none")(x), x.float() / 255)
    for bad in ("simclr+blur", "randaugment:40", "randaugment:x"):
        with pytest.raises(ValueError):
            A.parse_augmentation(bad)


def test_mixup_modes():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 3, 4, 4)
    y = torch.nn.functional.one_hot(torch.arange(8) % 4, 4).float()
    xm, ym = A.mixup(x, y, g, mode="xy")
    assert torch.allclose(ym.sum(1), torch.ones(8)) and not torch.equal(xm, x)
    xs, ys = A.mixup(x, y, torch.Generator().manual_seed(1), mode="x", batch_p=1.0)
    assert torch.equal(ys, y) and not torch.equal(xs, x)
    xs, ys = A.mixup(x, y, torch.Generator().manual_seed(1), mode="x", batch_p=0.0)
    assert torch.equal(xs, x)
    xa, ya = A.mixup(x, y, torch.Generator().manual_seed(2), alpha=0.2)
    assert torch.allclose(ya.sum(1), torch.ones(8))


def test_iid_bank_same_class_outside_subset():
    labels = torch.arange(600) % 10
    sub = torch.arange(0, 100)
    bank = A.iid_bank(labels, sub, 5, seed=0)
    assert bank.shape == (100, 5)
    assert (labels[bank] == labels[sub][:, None]).all()
    assert not torch.isin(bank, sub).any()
    assert all(len(set(r.tolist())) == 5 for r in bank)
    assert torch.equal(bank, A.iid_bank(labels, sub, 5, seed=0))


def _awkward_images(n=64, seed=3):
    """Random colours plus the cases the hue formula branches on: grey pixels (max = min), ties
    between the maximal channels, saturated primaries, and uint8-quantised values."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 8, 8, generator=g)
    x[: n // 4] = (x[: n // 4] * 255).round() / 255
    x[:, :, 0, :4] = x[:, :1, 0, :4]  # grey
    x[:, 1, 1, :4] = x[:, 0, 1, :4]  # r = g
    x[:, 2, 2, :4] = x[:, 1, 2, :4]  # g = b
    x[:, :, 3, 0] = torch.tensor([1.0, 0.0, 0.0])
    x[:, :, 3, 1] = torch.tensor([0.0, 1.0, 1.0])
    x[:, :, 3, 2] = 0.0
    return x


def test_hue_matches_on_a_batch_of_awkward_pixels():
    x = _awkward_images()
    factors = torch.linspace(-0.5, 0.5, len(x))
    ours = A.adjust_hue(x, factors)
    ref = torch.stack([TF.adjust_hue(img, f.item()) for img, f in zip(x, factors)])
    assert (ours - ref).abs().max() < TOL


def test_flip_folded_into_the_crop_equals_flipping_after_it(img):
    x = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    boxes = torch.tensor(
        [(3, 5, 17, 21), (0, 0, 32, 32), (10, 0, 5, 30), (0, 31, 32, 1), (2, 2, 9, 9), (0, 1, 8, 31)]
    )
    flip = torch.tensor([True, False, True, True, False, True])
    assert torch.equal(
        A.resized_crop(x, boxes, (32, 32), flip=flip), A.hflip(A.resized_crop(x, boxes, (32, 32)), flip)
    )
    assert torch.equal(A.hflip(x, ~torch.zeros(6, dtype=torch.bool)), x.flip(-1))
    no = torch.zeros(6, dtype=torch.bool)
    assert torch.equal(A.hflip(x, no), x) and torch.equal(A.to_grayscale_where(x, no), x)


class _FixedDraws:
    """Draws that return given uniforms per stream (the first k columns)."""

    def __init__(self, streams):
        self.streams = streams

    def uniform(self, stream, k=1):
        return self.streams[stream][:, :k]


def test_colour_jitter_applies_each_images_factors_in_its_order():
    x = _awkward_images(32, seed=5)
    u = torch.rand(32, 9, generator=torch.Generator().manual_seed(6))
    ours = A.color_jitter(x, _FixedDraws({A._JITTER: u}), (0.8, 0.8, 0.8, 0.2), p=0.8)
    ops = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
    for i, img in enumerate(x):
        ref = img
        if u[i, 0] < 0.8:  # applied: factors from U(0.2, 1.8) and hue from U(-0.2, 0.2), order by argsort
            factors = [0.2 + 1.6 * u[i, 1 + j].item() for j in range(3)] + [-0.2 + 0.4 * u[i, 4].item()]
            for k in u[i, 5:9].argsort().tolist():
                ref = ops[k](ref, factors[k])
        # four ops in a row: each within TOL, so the composition within 4 TOL
        assert (ours[i] - ref).abs().max() < 4 * TOL
