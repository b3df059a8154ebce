"""N networks x M augmentations x epochs on a fixed subset of K training images -> one netCDF.

Dims (method, seed, epoch, augmentation, example). The N networks of a method are trained one
after the other (sequentially, not vmapped: batch norm's running statistics do not vectorise
under torch.func, and on one CPU thread a batch of models brings no speed). Each finished
(method, seed) network is a cell: the file is rewritten atomically after it, with `status` per
cell, and a rerun with the same configuration resumes with the cells not done.

Also stored, from each method's first network after its last epoch: the embeddings of the K
profiled images (appendix C.1, t-SNE) and activation-maximisation inputs of a few channels per
block (appendix C.2).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from empirical.datasets import ImageDataset, load_dataset, subset_indices
from empirical.labels import make_labels
from empirical.profiles import actmax
from empirical.profiles.modes import MODES, parse_modes
from empirical.profiles.trainer import NetSpec, OptSpec, train_network
from grids.netcdf import load_result, save_atomic
from grids.provenance import config_of, provenance_attrs

TITLE = "memorization profiles"
TODO, DONE = 0, 1


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

    RESUMABLE = ("device", "data_root")

    def validate(self) -> None:
        parse_modes(",".join(self.methods))
        checks = [
            (self.networks >= 1, "--networks must be >= 1"),
            (self.augmentations >= 1, "--augmentations must be >= 1"),
            (self.epochs >= 1, "--epochs must be >= 1"),
            (self.examples >= 2, "--examples must be >= 2"),
            (self.train_size == 0 or self.train_size >= self.examples, "--train-size must be 0 or >= --examples"),
            (self.batch_size >= 2, "--batch-size must be >= 2"),
            (self.lr > 0 and self.simclr_lr > 0, "learning rates must be positive"),
            (self.optimizer in ("adam", "sgd") and self.simclr_optimizer in ("adam", "sgd"), "optimizers: adam or sgd"),
            (self.arch in ("small_cnn", "resnet18", "vgg11"), f"unknown architecture {self.arch!r}"),
            (self.cnn_width >= 1 and self.projector_width >= 1, "widths must be positive"),
            (self.actmax_channels >= 0, "--actmax-channels must be >= 0"),
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
        from empirical.memscore.data import synthetic

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


def _attrs(long_name: str, units: str = "1", **extra) -> dict:
    return {"long_name": long_name, "units": units, **extra}


def empty_result(cfg: ProfileConfig, data: ProfileData) -> xr.Dataset:
    modes = parse_modes(",".join(cfg.methods))
    M, N, E, K = len(modes), cfg.networks, cfg.epochs, cfg.examples
    train = data.train
    C, H, W = train.images.shape[1:]
    codes = np.array([m.code for m in modes], dtype=np.int32)
    ex = data.train_index[data.profiled].cpu().numpy()
    coords = {
        "method": ("method", codes, _attrs("training mode", flag_values=codes,
                                           flag_meanings=" ".join(m.name for m in modes))),
        "seed": ("seed", np.arange(N, dtype=np.int32) + cfg.seed, _attrs("network seed")),
        "epoch": ("epoch", np.arange(1, E + 1, dtype=np.int32), _attrs("training epochs done")),
        "augmentation": ("augmentation", np.arange(cfg.augmentations, dtype=np.int32),
                         _attrs("index of the fixed augmentation (SimCLR: the pair of views 2m, 2m+1)")),
        "example": ("example", ex.astype(np.int64), _attrs("index of the profiled image in the training split")),
    }
    ds = xr.Dataset(
        {
            "recognised": (("method", "seed", "epoch", "augmentation", "example"),
                           np.full((M, N, E, cfg.augmentations, K), -1, dtype=np.int8),
                           _attrs("1 if the network recognises the augmented example (correct training label; "
                                  "SimCLR: partner view is the arg-max of the 2B-1 in-batch candidates), "
                                  "-1 not computed", flag_values=np.array([-1, 0, 1], dtype=np.int8))),
            "train_loss": (("method", "seed", "epoch"), np.full((M, N, E), np.nan),
                           _attrs("mean training loss over the epoch (cross-entropy or NT-Xent)", "nat")),
            "status": (("method", "seed"), np.zeros((M, N), dtype=np.int8),
                       _attrs("cell status", flag_values=np.array([TODO, DONE], dtype=np.int8),
                              flag_meanings="todo done")),
            "true_label": ("example", train.labels[data.profiled].cpu().numpy().astype(np.int32),
                           _attrs("true class")),
            "random_label": ("example", data.random_labels[data.profiled].cpu().numpy().astype(np.int32),
                             _attrs("random label of the random-label modes (fixed across networks)")),
            "image": (("example", "channel", "y", "x"), train.images[data.profiled].cpu().numpy(),
                      _attrs("profiled training image", "uint8 grey level")),
        },
        coords={k: (v[0], v[1], v[2]) for k, v in coords.items()},
    )
    ds.attrs = provenance_attrs(TITLE, cfg.identity())
    ds.attrs["num_classes"] = int(train.num_classes)
    return ds


def open_or_create(cfg: ProfileConfig, data: ProfileData, out: Path | None) -> xr.Dataset:
    if out is not None and Path(out).exists():
        ds = load_result(out, require_title=TITLE)
        if config_of(ds.attrs) != json.loads(json.dumps(cfg.identity(), sort_keys=True, default=str)):
            raise ValueError(f"{out} holds a run with another configuration; choose another --out")
        return ds
    return empty_result(cfg, data)


def _store_extras(ds: xr.Dataset, mi: int, model, data: ProfileData, cfg: ProfileConfig) -> xr.Dataset:
    """Embeddings and activation-maximisation images of a method's first network."""
    from empirical.datasets import normalize

    model.eval()
    with torch.no_grad():
        x = normalize(data.train.images[data.profiled], data.train)
        emb = torch.cat([model.embed(x[i : i + 512]) for i in range(0, x.shape[0], 512)]).cpu().numpy()
    n_methods = ds.sizes["method"]
    if "embedding" not in ds:
        ds["embedding"] = (("method", "example", "feature"),
                           np.full((n_methods, ds.sizes["example"], emb.shape[1]), np.nan, dtype=np.float32),
                           _attrs("encoder output (global average pool) of the clean image, first network, last epoch"))
    ds["embedding"][mi] = emb
    if cfg.actmax_channels:
        shape = tuple(data.train.images.shape[1:])
        imgs, chans = [], []
        for bi, block in enumerate(actmax.BLOCKS):
            width = actmax.block_map(model, torch.zeros((1, *shape), device=x.device), block).shape[1]
            ch = torch.randperm(width, generator=torch.Generator().manual_seed(1000 + bi))[: cfg.actmax_channels]
            chans.append(ch.numpy())
            imgs.append(actmax.maximise(model, block, ch.tolist(), shape, steps=cfg.actmax_steps, seed=bi).cpu().numpy())
        if "actmax" not in ds:
            U = cfg.actmax_channels
            ds["actmax"] = (("method", "block", "unit", "channel", "y", "x"),
                            np.full((n_methods, 4, U, *shape), np.nan, dtype=np.float32),
                            _attrs("input maximising the channel's mean activation (normalised pixel space)"))
            ds["actmax_channel"] = (("method", "block", "unit"), np.full((n_methods, 4, U), -1, dtype=np.int32),
                                    _attrs("channel of the block that the input maximises"))
            ds = ds.assign_coords(block=("block", np.arange(1, 5, dtype=np.int32), _attrs("ResNet-style block (layerN)")))
        ds["actmax"][mi] = np.stack(imgs)
        ds["actmax_channel"][mi] = np.stack(chans)
    return ds


def run(cfg: ProfileConfig, out: Path | None = None, on_step=None, on_network=None, log=print) -> xr.Dataset:
    """Train every (method, seed) network not done yet; save after each when `out` is given."""
    cfg.validate()
    device = torch.device(cfg.device)
    data = prepare(cfg, device)
    ds = open_or_create(cfg, data, out)
    modes = parse_modes(",".join(cfg.methods))
    net = NetSpec(cfg.arch, cfg.cnn_width, cfg.projector_width, data.train.num_classes, cfg.simclr_dim)
    prof_images = data.train.images[data.profiled]
    prof_index = data.train_index[data.profiled]
    for mi, mode in enumerate(modes):
        opt = OptSpec(cfg.simclr_optimizer if mode.contrastive else cfg.optimizer,
                      cfg.simclr_lr if mode.contrastive else cfg.lr, cfg.weight_decay, 0.9, cfg.temperature)
        labels = {"clean": data.train.labels, "random": data.random_labels, "none": None}[mode.labels]
        for si in range(cfg.networks):
            if int(ds["status"].values[mi, si]) == DONE:
                continue
            seed = cfg.seed + si
            if on_network:
                on_network(mode, seed)
            rec, losses, model = train_network(
                mode, seed, data.train, labels, prof_images, None if labels is None else labels[data.profiled],
                prof_index, net, opt, cfg.epochs, cfg.batch_size, cfg.augmentations, cfg.data_seed + 0xB4,
                on_step=on_step)
            ds["recognised"].values[mi, si] = rec.cpu().numpy().astype(np.int8)
            ds["train_loss"].values[mi, si] = losses.numpy()
            if si == 0:
                ds = _store_extras(ds, mi, model, data, cfg)
            ds["status"].values[mi, si] = DONE
            if log:
                log(f"{mode.name} seed {seed}: final loss {float(losses[-1]):.3f}, "
                    f"mean p_t {float(rec[-1].float().mean()):.3f}")
            if out is not None:
                save_atomic(ds, out)
    return ds


def steps_per_network(cfg: ProfileConfig, n_train: int) -> int:
    per_epoch = -(-n_train // cfg.batch_size)
    if per_epoch > 1 and n_train % cfg.batch_size == 1:
        per_epoch -= 1
    return per_epoch * cfg.epochs
