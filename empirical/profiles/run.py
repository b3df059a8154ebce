"""N networks x M augmentations x epochs on a fixed subset of K training images: the configuration,
the data, one block of networks' training, and the pieces of the profiles file.

Dims of the file (method, seed, epoch, augmentation, example). The networks of a method train as one
batch (`batched`: a wide network of grouped convolutions). The runs are cells of the grid engine
(grids/profiles_cells.py: a (method, seed) cell per network, a block of networks per task, resumable,
in this process, on local processes or on Dask); `benign profiles run` is its front end.

Also stored, from each method's first network after its last epoch: the embeddings of the K
profiled images (appendix C.1, t-SNE) and activation-maximisation inputs of a few channels per
block (appendix C.2).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch
import xarray as xr

from benign.empirical.datasets import ImageDataset, load_dataset, subset_indices
from benign.empirical.labels import make_labels
from benign.empirical.profiles import actmax
from benign.empirical.profiles.batched import train_networks
from benign.empirical.profiles.modes import MODES, parse_modes
from benign.empirical.profiles.recognition import DIRECTIONS, views_scored
from benign.empirical.profiles.trainer import NetSpec, OptSpec

TITLE = "memorization profiles"


@dataclass
class ProfileConfig:
    dataset: str = "fashion-mnist"  # any empirical.datasets name, or "synthetic"
    data_root: str | None = None
    methods: list = field(default_factory=lambda: list(MODES))
    networks: int = 4  # N
    augmentations: int = 4  # M
    epochs: int = 8
    examples: int = 500  # K profiled training images
    train_size: int = 2000  # class-balanced training subset (0: the whole split)
    arch: str = "small_cnn"
    cnn_width: int = 16
    projector_width: int = 256
    simclr_dim: int = 128
    temperature: float = 0.07
    batch_size: int = 128
    lr: float = 1e-3
    simclr_lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adam"  # supervised / random-label modes (the paper: sgd)
    simclr_optimizer: str = "adam"
    seed: int = 0  # network n has seed seed + n
    data_seed: int = 0  # training subset, profiled subset, random labels, augmentation bank
    actmax_channels: int = 4
    actmax_steps: int = 64
    device: str = "cpu"
    max_batch: int = 0  # networks of a method trained as one batch, per task (0: all N)
    recognition: str = "both"  # SimCLR: score view 1 -> 2 and 2 -> 1, as the authors do; "one": 1 -> 2

    RESUMABLE = ("device", "data_root", "max_batch")

    def validate(self) -> None:
        parse_modes(",".join(self.methods))
        checks = [
            (self.networks >= 1, "--networks must be >= 1"),
            (self.augmentations >= 1, "--augmentations must be >= 1"),
            (self.epochs >= 1, "--epochs must be >= 1"),
            (self.examples >= 2, "--examples must be >= 2"),
            (
                self.train_size == 0 or self.train_size >= self.examples,
                "--train-size must be 0 or >= --examples",
            ),
            (self.batch_size >= 2, "--batch-size must be >= 2"),
            (self.lr > 0 and self.simclr_lr > 0, "learning rates must be positive"),
            (
                self.optimizer in ("adam", "sgd") and self.simclr_optimizer in ("adam", "sgd"),
                "optimizers: adam or sgd",
            ),
            (self.arch in ("small_cnn", "resnet18", "vgg11"), f"unknown architecture {self.arch!r}"),
            (self.cnn_width >= 1 and self.projector_width >= 1, "widths must be positive"),
            (self.actmax_channels >= 0, "--actmax-channels must be >= 0"),
            (self.max_batch >= 0, "--max-batch must be >= 0 (0: all networks of a method in one batch)"),
            (self.recognition in DIRECTIONS, f"--recognition must be one of {', '.join(DIRECTIONS)}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)

    def identity(self) -> dict:
        d = dataclasses.asdict(self)
        for k in self.RESUMABLE:
            d.pop(k, None)
        return d


@dataclass
class ProfileData:
    train: ImageDataset
    random_labels: torch.Tensor  # (n,) fixed across networks
    train_index: torch.Tensor  # into the full training split
    profiled: torch.Tensor  # (K,) positions in `train`


def prepare(cfg: ProfileConfig, device) -> ProfileData:
    if cfg.dataset == "synthetic":
        from benign.empirical.memscore.data import synthetic

        if cfg.train_size <= 0:
            raise ValueError("the synthetic data set needs --train-size > 0")
        train = synthetic(cfg.train_size, cfg.data_seed, True).to(device)
        index = torch.arange(cfg.train_size, device=device)
    else:
        full = load_dataset(cfg.dataset, cfg.data_root, train=True, device=device)
        if cfg.train_size and cfg.train_size < len(full):
            index = subset_indices(full.labels, cfg.train_size, cfg.data_seed, full.num_classes).to(device)
        else:
            index = torch.arange(len(full), device=device)
        train = dataclasses.replace(full, images=full.images[index], labels=full.labels[index])
    if cfg.examples > len(train):
        raise ValueError(f"--examples {cfg.examples} exceeds the {len(train)} training images")
    if cfg.examples == len(train):
        profiled = torch.arange(len(train), device=device)
    else:
        profiled = subset_indices(train.labels, cfg.examples, cfg.data_seed + 1, train.num_classes).to(device)
    labels = make_labels(train.labels, "random", train.num_classes, cfg.data_seed)
    return ProfileData(train, labels, index, profiled)


def attrs_of(long_name: str, units: str = "1", **extra) -> dict:
    return {"long_name": long_name, "units": units, **extra}


def profile_constants(cfg: ProfileConfig, data: ProfileData, modes) -> dict:
    """What does not depend on a network: the profiled images, their labels, the views a trial scores."""
    train = data.train
    return {
        "true_label": (
            "example",
            train.labels[data.profiled].cpu().numpy().astype(np.int32),
            attrs_of("true class"),
        ),
        "random_label": (
            "example",
            data.random_labels[data.profiled].cpu().numpy().astype(np.int32),
            attrs_of("random label of the random-label modes (fixed across networks)"),
        ),
        "image": (
            ("example", "channel", "y", "x"),
            train.images[data.profiled].cpu().numpy(),
            attrs_of("profiled training image", "uint8 grey level"),
        ),
        "views": (
            "method",
            np.array([views_scored(m.contrastive, cfg.recognition) for m in modes], dtype=np.int8),
            attrs_of("views one (network, augmentation) trial scores: p_t = recognised / views"),
        ),
    }


COORD_ATTRS = {
    "seed": attrs_of("network seed"),
    "epoch": attrs_of("training epochs done"),
    "augmentation": attrs_of("index of the fixed augmentation (SimCLR: the pair of views 2m, 2m+1)"),
    "example": attrs_of("index of the profiled image in the training split"),
}


def extras(model, data: ProfileData, cfg: ProfileConfig) -> dict:
    """Embeddings (K, D) and activation-maximisation inputs (block, unit, C, H, W) of one network."""
    from benign.empirical.datasets import normalize

    model.eval()
    with torch.no_grad():
        x = normalize(data.train.images[data.profiled], data.train)
        emb = torch.cat([model.embed(x[i : i + 512]) for i in range(0, x.shape[0], 512)]).cpu().numpy()
    out = {"embedding": emb}
    if cfg.actmax_channels:
        shape = tuple(data.train.images.shape[1:])
        imgs, chans = [], []
        for bi, block in enumerate(actmax.BLOCKS):
            width = actmax.block_map(model, torch.zeros((1, *shape), device=x.device), block).shape[1]
            ch = torch.randperm(width, generator=torch.Generator().manual_seed(1000 + bi))[
                : cfg.actmax_channels
            ]
            chans.append(ch.numpy())
            imgs.append(
                actmax.maximise(model, block, ch.tolist(), shape, steps=cfg.actmax_steps, seed=bi)
                .cpu()
                .numpy()
            )
        out["actmax"], out["actmax_channel"] = np.stack(imgs), np.stack(chans)
    return out


def store_extras(ds: xr.Dataset, mi: int, ex: dict) -> xr.Dataset:
    n_methods = ds.sizes["method"]
    if "embedding" not in ds:
        ds["embedding"] = (
            ("method", "example", "feature"),
            np.full((n_methods, ds.sizes["example"], ex["embedding"].shape[1]), np.nan, dtype=np.float32),
            attrs_of("encoder output (global average pool) of the clean image, first network, last epoch"),
        )
    ds["embedding"][mi] = ex["embedding"]
    if "actmax" in ex:
        if "actmax" not in ds:
            shape = ex["actmax"].shape
            ds["actmax"] = (
                ("method", "block", "unit", "channel", "y", "x"),
                np.full((n_methods, *shape), np.nan, dtype=np.float32),
                attrs_of("input maximising the channel's mean activation (normalised pixel space)"),
            )
            ds["actmax_channel"] = (
                ("method", "block", "unit"),
                np.full((n_methods, *shape[:2]), -1, dtype=np.int32),
                attrs_of("channel of the block that the input maximises"),
            )
            ds = ds.assign_coords(
                block=("block", np.arange(1, 5, dtype=np.int32), attrs_of("ResNet-style block (layerN)"))
            )
        ds["actmax"][mi] = ex["actmax"]
        ds["actmax_channel"][mi] = ex["actmax_channel"]
    return ds


def train_chunk(
    cfg: ProfileConfig, data: ProfileData, method: str, positions: list[int], on_step=None
) -> dict:
    """Train the networks at seed `positions` of one method as one batch; plain arrays back:
    recognised (n, epochs, M, K) int8, train_loss (n, epochs), extras of position 0 if trained here."""
    mode = MODES[method]
    net = NetSpec(cfg.arch, cfg.cnn_width, cfg.projector_width, data.train.num_classes, cfg.simclr_dim)
    opt = OptSpec(
        cfg.simclr_optimizer if mode.contrastive else cfg.optimizer,
        cfg.simclr_lr if mode.contrastive else cfg.lr,
        cfg.weight_decay,
        0.9,
        cfg.temperature,
    )
    labels = {"clean": data.train.labels, "random": data.random_labels, "none": None}[mode.labels]
    rec, losses, wide, template = train_networks(
        mode,
        [cfg.seed + si for si in positions],
        data.train,
        labels,
        data.train.images[data.profiled],
        None if labels is None else labels[data.profiled],
        data.train_index[data.profiled],
        net,
        opt,
        cfg.epochs,
        cfg.batch_size,
        cfg.augmentations,
        cfg.data_seed + 0xB4,
        directions=cfg.recognition,
        on_step=on_step,
    )
    out = {
        "method": method,
        "positions": list(positions),
        "recognised": rec.cpu().numpy().astype(np.int8),
        "train_loss": losses.numpy(),
    }
    if 0 in positions:
        out["extras"] = extras(wide.network(positions.index(0), template), data, cfg)
    return out


def steps_per_network(cfg: ProfileConfig, n_train: int) -> int:
    per_epoch = -(-n_train // cfg.batch_size)
    if per_epoch > 1 and n_train % cfg.batch_size == 1:
        per_epoch -= 1
    return per_epoch * cfg.epochs
