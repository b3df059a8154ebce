import numpy as np
import pytest
import torch

from benign.empirical.augment import BankDraws
from benign.empirical.profiles import actmax
from benign.empirical.profiles.tsne import tsne
from benign.empirical.profiles.views import augment, gaussian_blur, pad_crop

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class FixedDraws:
    def __init__(self, n, value):
        self.n, self.value = n, value

    def uniform(self, stream, k=1):
        return torch.full((self.n, k), self.value)


def test_pad_crop_offsets():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6)
    centre = pad_crop(x, FixedDraws(2, 0.5), pad=2)  # offset 2 of 0..4: the image itself
    assert torch.equal(centre, x)
    corner = pad_crop(x, FixedDraws(2, 0.0), pad=2)  # offset 0: shifted down-right, zero fill
    assert torch.equal(corner[:, :, 2:, 2:], x[:, :, :4, :4])
    assert corner[:, :, :2].abs().sum() == 0


def test_blur_keeps_constants_and_small_sigma_is_identity():
    x = torch.rand(3, 2, 9, 9)
    np.testing.assert_allclose(
        gaussian_blur(torch.full((2, 1, 8, 8), 0.3), torch.tensor([1.0, 2.0]), 3), 0.3, atol=1e-6
    )
    np.testing.assert_allclose(gaussian_blur(x, torch.full((3,), 0.05), 3), x, atol=1e-6)
    y = gaussian_blur(x, torch.full((3,), 1.5), 5)
    assert y.std() < x.std()


def test_bank_augmentations_are_fixed():
    imgs = (torch.rand(4, 1, 12, 12) * 255).byte()
    idx = torch.arange(4)
    for kind in ("weak", "strong"):
        a = augment(kind, imgs, BankDraws(3, idx, torch.zeros(4, dtype=torch.long)))
        b = augment(kind, imgs, BankDraws(3, idx, torch.zeros(4, dtype=torch.long)))
        c = augment(kind, imgs, BankDraws(3, idx, torch.ones(4, dtype=torch.long)))
        assert torch.equal(a, b) and not torch.equal(a, c)
        assert a.shape == (4, 1, 12, 12) and 0 <= float(a.min()) and float(a.max()) <= 1


def test_tsne_separates_two_clusters():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (20, 5)), rng.normal(12, 1, (20, 5))])
    y = tsne(x, perplexity=5, iters=300)
    assert np.isfinite(y).all()
    d = np.linalg.norm(y[:, None] - y[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    nearest = d.argsort(1)[:, :5]
    same = (nearest < 20) == (np.arange(40) < 20)[:, None]
    assert same.mean() > 0.95  # the 5 nearest neighbours in the map come from the same cluster
    np.testing.assert_array_equal(tsne(x, perplexity=5, iters=300), y)  # one seed, one map
    assert tsne(x, dims=3, perplexity=5).shape == (40, 3)


def test_activation_maximisation_raises_the_activation():
    from benign.empirical.networks import small_cnn

    torch.manual_seed(0)
    model = small_cnn(4, 1, 8, width=4)
    model.eval()
    x0 = 0.1 * torch.randn((2, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    before = actmax.block_map(model, x0, "layer2").mean((2, 3))[[0, 1], [1, 2]]
    x = actmax.maximise(model, "layer2", [1, 2], (1, 8, 8), steps=30, seed=0)
    after = actmax.block_map(model, x, "layer2").mean((2, 3))[[0, 1], [1, 2]]
    assert (after > before).all()
    shown = actmax.display(x.numpy())
    assert shown.min() > 0 and shown.max() < 1
