"""Images per second of the SimCLR pipeline: batched on the device vs torchvision.transforms.v2 per image.

Run: .venv/bin/python -m pytest tests/benchmarks/test_augment_bench.py --benchmark-only
The per-image baseline is what a DataLoader worker does: one v2.Compose call per uint8 image.
"""

import torch
import torchvision.transforms.v2 as T

from empirical.augment import parse_augmentation

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
