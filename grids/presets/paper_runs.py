"""Named single-run configurations: the paper-scale GPU runs.

'<dataset>-<arch>' for dataset in cifar10, cifar100, tinyimagenet and arch in resnet18, vgg11:
table 6's settings (projector 65536, batch 256, Adam, MSE, SimCLR + mixup), random labels, 5000
epochs (figure 4's time scale); override any field on the command line. (Table 2's runs, at every
scale, are the grid preset `table2`: `benign train --preset table2-<scale>` runs it on the grid engine.)
"""

from __future__ import annotations

from benign.empirical.training import TrainConfig


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


PRESETS = [f"{d}-{a}" for d in ("cifar10", "cifar100", "tinyimagenet") for a in ("resnet18", "vgg11")]


def preset(name: str) -> TrainConfig:
    if name in PRESETS:
        return paper_preset(name)
    raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
