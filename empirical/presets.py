"""Named run configurations: table 2 at CPU scale on Fashion-MNIST, and the paper-scale GPU runs.

table2-small (CPU, minutes): the small CNN on a class-balanced 1000-image Fashion-MNIST subset
(the paper's subset size, table 3), k-NN probe on a 2000-image balanced test subset, four trainings
(random, random + DA, clean, clean + DA) and probing at initialisation (epoch 0 of the same seed:
every run starts from the same weights). DA here is the SimCLR pipeline without mixup (1-channel
images: crop, flip, brightness, contrast); the budget is far below the paper's thousands of epochs.

Paper scale (CUDA): '<dataset>-<arch>' for dataset in cifar10, cifar100, tinyimagenet and arch in
resnet18, vgg11: table 6's settings (projector 65536, batch 256, Adam, MSE, SimCLR + mixup), random
labels, 5000 epochs (figure 4's time scale); override any field on the command line.
"""

from __future__ import annotations

import dataclasses

from empirical.training import TrainConfig

TABLE2_SETTINGS = ("random", "random+DA", "clean", "clean+DA", "initialisation")

TABLE2_SMALL = TrainConfig(
    dataset="fashion-mnist",
    subset=1000,
    test_subset=2000,
    arch="small_cnn",
    cnn_width=16,
    projector_width=4096,
    epochs=25,
    eval_every=5,
    checkpoint_every=5,
    out="results/table2-small",
)


def table2_runs(base: TrainConfig) -> dict[str, TrainConfig]:
    """The four trained settings of table 2 (the fifth, initialisation, is epoch 0 of any of them)."""
    runs = {}
    for name in TABLE2_SETTINGS[:4]:
        labels = "random" if name.startswith("random") else "clean"
        augment = "simclr" if name.endswith("DA") else "none"
        mix = base.mixup if name.endswith("DA") else "off"
        runs[name] = dataclasses.replace(
            base, labels=labels, augment=augment, mixup=mix, out=f"{base.out}/{name.replace('+', '_')}"
        )
    return runs


def paper_preset(name: str) -> TrainConfig:
    dataset, _, arch = name.partition("-")
    if dataset not in ("cifar10", "cifar100", "tinyimagenet") or arch not in ("resnet18", "vgg11"):
        raise ValueError(f"unknown preset {name!r}")
    return TrainConfig(
        dataset=dataset,
        arch=arch,
        projector_width=65536,
        labels="random",
        augment="simclr",
        mixup="xy",
        epochs=5000,
        eval_every=50,
        checkpoint_every=10,
        device="auto",
        out=f"results/{name}",
    )


PRESETS = ["table2-small"] + [
    f"{d}-{a}" for d in ("cifar10", "cifar100", "tinyimagenet") for a in ("resnet18", "vgg11")
]


def preset(name: str) -> TrainConfig:
    if name == "table2-small":
        return dataclasses.replace(TABLE2_SMALL)
    if name in PRESETS:
        return paper_preset(name)
    raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
