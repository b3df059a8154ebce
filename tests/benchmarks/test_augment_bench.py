"""Images per second of the SimCLR pipeline: batched on the device vs torchvision.transforms.v2 per image,
and vs Kornia's batched AugmentationSequential (the peer a researcher would use instead).

Run: make bench, or .venv/bin/python -m pytest tests/benchmarks/test_augment_bench.py --benchmark-only
The per-image baseline is what a DataLoader worker does: one v2.Compose call per uint8 image.
Target against Kornia (issue 14): at least 2x, per-image parameters, 256 uint8 images 3x32x32, 1 thread.
"""

import pytest
import torch
import torchvision.transforms.v2 as T

from benign.empirical.augment import parse_augmentation
from tests.benchmarks.peers import alternate

BATCH = 256


def _images():
    return torch.randint(
        0, 256, (BATCH, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )


def test_batched_pipeline(benchmark):
    x = _images()
    aug = parse_augmentation("simclr")
    g = torch.Generator().manual_seed(0)
    out = benchmark(lambda: aug(x, generator=g))
    assert out.shape == (BATCH, 3, 32, 32)
    if benchmark.stats is not None:  # None under --benchmark-disable (make test)
        benchmark.extra_info["images_per_s"] = BATCH / benchmark.stats.stats.median


def test_torchvision_per_image(benchmark):
    x = _images()
    pipeline = T.Compose(
        [
            T.RandomResizedCrop(32, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), antialias=True),
            T.RandomHorizontalFlip(0.5),
            T.RandomApply([T.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
            T.RandomGrayscale(0.2),
            T.ToDtype(torch.float32, scale=True),
        ]
    )
    out = benchmark(lambda: torch.stack([pipeline(img) for img in x]))
    assert out.shape == (BATCH, 3, 32, 32)
    if benchmark.stats is not None:  # None under --benchmark-disable (make test)
        benchmark.extra_info["images_per_s"] = BATCH / benchmark.stats.stats.median


@pytest.mark.benchmark(group="SimCLR augmentation vs Kornia")
def test_batched_pipeline_vs_kornia(benchmark, record_ratio, torch_threads):
    K = pytest.importorskip("kornia.augmentation")  # the `bench` extra
    torch_threads(1)
    x = _images()
    ours = parse_augmentation("simclr")
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)  # Kornia draws from the global generator
    # The same distribution of parameters, drawn per image by both (Kornia's defaults: ratio (3/4, 4/3)).
    kornia = K.AugmentationSequential(
        K.RandomResizedCrop((32, 32), scale=(0.08, 1.0)),
        K.RandomHorizontalFlip(),
        K.ColorJitter(0.8, 0.8, 0.8, 0.2, p=0.8),
        K.RandomGrayscale(p=0.2),
    )
    variants = {"project": lambda: ours(x, generator=g), "kornia": lambda: kornia(x.float() / 255)}
    rounds = 1 if benchmark.disabled else 30
    times, results = benchmark.pedantic(lambda: alternate(variants, rounds), rounds=1, iterations=1)
    for out in results.values():
        assert out.shape == (BATCH, 3, 32, 32) and 0 <= out.min() and out.max() <= 1
    record_ratio(f"SimCLR augmentation, {BATCH} x 3x32x32 uint8, 1 thread", times, "project", "kornia")
