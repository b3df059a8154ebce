"""N networks x M augmentations x epochs on a fixed subset of K training images -> one netCDF.

Dims (method, seed, epoch, augmentation, example). The N networks of a method train as one batch
(`batched`: a wide network of grouped convolutions), at most `max_batch` per batch where memory
is short. A task = (method, a chunk of seed positions); tasks run in this process one after the
other, or on an executor the caller passes (the CLI: grids.executors' local worker processes or a
Dask cluster) so that a cluster can run them.
The driver alone writes the file, a store.cell_grid.CellGrid of (method, seed) cells: after every
finished task, atomically, with `status` per cell (to do, running, done, failed), and a rerun with
the same configuration resumes with the cells not done.

Also stored, from each method's first network after its last epoch: the embeddings of the K
profiled images (appendix C.1, t-SNE) and activation-maximisation inputs of a few channels per
block (appendix C.2).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

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
from benign.store.cell_grid import DONE, RUNNING, TODO, CellGrid

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


def _attrs(long_name: str, units: str = "1", **extra) -> dict:
    return {"long_name": long_name, "units": units, **extra}


def open_grid(cfg: ProfileConfig, data: ProfileData, out: Path) -> CellGrid:
    """The result file as a grid of (method, seed) cells (store.cell_grid): created with every cell
    to do, or reopened (ValueError if it holds a run of another configuration)."""
    modes = parse_modes(",".join(cfg.methods))
    codes = np.array([m.code for m in modes], dtype=np.int32)
    variables = {
        "recognised": _attrs(
            "views of the augmented example recognised (correct training label; SimCLR: the "
            "partner view is the arg-max of the 2B-1 in-batch candidates, see `views`), "
            "-1 not computed",
            flag_values=np.array([-1, 0, 1, 2], dtype=np.int8),
            dims=("epoch", "augmentation", "example"),
            dtype=np.int8,
            fill=-1,
        ),
        "train_loss": _attrs(
            "mean training loss over the epoch (cross-entropy or NT-Xent)", "nat", dims=("epoch",)
        ),
    }
    extra = {
        "epoch": np.arange(1, cfg.epochs + 1, dtype=np.int32),
        "augmentation": np.arange(cfg.augmentations, dtype=np.int32),
        "example": data.train_index[data.profiled].cpu().numpy().astype(np.int64),
    }
    coords = {"method": codes, "seed": np.arange(cfg.networks, dtype=np.int32) + cfg.seed}
    grid = CellGrid(out, coords, variables, TITLE, cfg.identity(), extra_coords=extra)
    if "true_label" not in grid.ds:  # new: what does not depend on a cell
        ds, train = grid.ds, data.train
        ds["method"].attrs = _attrs(
            "training mode", flag_values=codes, flag_meanings=" ".join(m.name for m in modes)
        )
        ds["seed"].attrs = _attrs("network seed")
        ds["epoch"].attrs = _attrs("training epochs done")
        ds["augmentation"].attrs = _attrs(
            "index of the fixed augmentation (SimCLR: the pair of views 2m, 2m+1)"
        )
        ds["example"].attrs = _attrs("index of the profiled image in the training split")
        ds["true_label"] = (
            "example",
            train.labels[data.profiled].cpu().numpy().astype(np.int32),
            _attrs("true class"),
        )
        ds["random_label"] = (
            "example",
            data.random_labels[data.profiled].cpu().numpy().astype(np.int32),
            _attrs("random label of the random-label modes (fixed across networks)"),
        )
        ds["image"] = (
            ("example", "channel", "y", "x"),
            train.images[data.profiled].cpu().numpy(),
            _attrs("profiled training image", "uint8 grey level"),
        )
        ds["views"] = (
            "method",
            np.array([views_scored(m.contrastive, cfg.recognition) for m in modes], dtype=np.int8),
            _attrs("views one (network, augmentation) trial scores: p_t = recognised / views"),
        )
        ds.attrs["num_classes"] = int(train.num_classes)
        grid.save()
    return grid


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
            _attrs("encoder output (global average pool) of the clean image, first network, last epoch"),
        )
    ds["embedding"][mi] = ex["embedding"]
    if "actmax" in ex:
        if "actmax" not in ds:
            shape = ex["actmax"].shape
            ds["actmax"] = (
                ("method", "block", "unit", "channel", "y", "x"),
                np.full((n_methods, *shape), np.nan, dtype=np.float32),
                _attrs("input maximising the channel's mean activation (normalised pixel space)"),
            )
            ds["actmax_channel"] = (
                ("method", "block", "unit"),
                np.full((n_methods, *shape[:2]), -1, dtype=np.int32),
                _attrs("channel of the block that the input maximises"),
            )
            ds = ds.assign_coords(
                block=("block", np.arange(1, 5, dtype=np.int32), _attrs("ResNet-style block (layerN)"))
            )
        ds["actmax"][mi] = ex["actmax"]
        ds["actmax_channel"][mi] = ex["actmax_channel"]
    return ds


def tasks_todo(cfg: ProfileConfig, ds: xr.Dataset) -> list[tuple[str, list[int]]]:
    """(method, seed positions) of every network not done, at most cfg.max_batch per task (0: all of a
    method's networks in one task)."""
    cap = cfg.max_batch or cfg.networks
    tasks = []
    for mi, mode in enumerate(parse_modes(",".join(cfg.methods))):
        todo = [si for si in range(cfg.networks) if int(ds["status"].values[mi, si]) != DONE]
        tasks += [(mode.name, todo[i : i + cap]) for i in range(0, len(todo), cap)]
    return tasks


def _cells(grid: CellGrid, mi: int, positions: list[int]) -> list[dict]:
    method = grid.ds["method"].values[mi].item()
    return [{"method": method, "seed": grid.ds["seed"].values[si].item()} for si in positions]


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


def run_task(cfg_json: str, method: str, positions: list[int]) -> dict:
    """`train_chunk` in a worker process (a local process or a Dask worker): the data are prepared
    there, once per process and configuration."""
    cfg = ProfileConfig(**json.loads(cfg_json))
    return train_chunk(cfg, _prepared(cfg_json), method, positions)


@functools.lru_cache(maxsize=1)
def _prepared(cfg_json: str) -> ProfileData:
    cfg = ProfileConfig(**json.loads(cfg_json))
    return prepare(cfg, torch.device(cfg.device))


def record(grid: CellGrid, result: dict, methods: list[str]) -> None:
    """The driver's part: a finished task's arrays into the grid, its cells marked done, the file
    written atomically."""
    mi = methods.index(result["method"])
    if "extras" in result:
        grid.ds = store_extras(grid.ds, mi, result["extras"])
    cells = _cells(grid, mi, result["positions"])
    grid.record(
        [
            (cell, {"recognised": result["recognised"][j], "train_loss": result["train_loss"][j]})
            for j, cell in enumerate(cells)
        ]
    )


class TasksFailed(RuntimeError):
    pass


def run(cfg: ProfileConfig, out: Path, on_step=None, on_task=None, log=print, executor=None) -> xr.Dataset:
    """Train every (method, seed) network not done yet in the grid file `out`, a batch of networks
    per task; the driver records each finished task (store.cell_grid: the file is rewritten
    atomically, the cell marked done). Tasks run here, one after the other, or on `executor` (an
    object with the interface of grids/executors.py, given by the caller: local processes or a Dask
    cluster); a task handed out is `running`, a failed one `failed` (retried by a rerun)."""
    cfg.validate()
    device = torch.device(cfg.device)
    data = prepare(cfg, device)
    grid = open_grid(cfg, data, Path(out))
    methods = [m.name for m in parse_modes(",".join(cfg.methods))]
    tasks = tasks_todo(cfg, grid.ds)

    def finish(task, result):
        record(grid, result, methods)
        if log:
            mean_p = result["recognised"][:, -1].mean(axis=(1, 2)) / views_scored(
                MODES[task[0]].contrastive, cfg.recognition
            )
            for j, si in enumerate(task[1]):
                log(
                    f"{task[0]} seed {cfg.seed + si}: final loss {float(result['train_loss'][j, -1]):.3f}, "
                    f"mean p_t {float(mean_p[j]):.3f}"
                )
        if on_task:
            on_task(task)

    def cells_of(task) -> list[dict]:
        return _cells(grid, methods.index(task[0]), task[1])

    if executor is None:
        for task in tasks:
            finish(task, train_chunk(cfg, data, *task, on_step=on_step))
        return grid.ds
    cfg_json = json.dumps(dataclasses.asdict(cfg))
    failed = []
    try:
        for i, result, error in executor.run(
            run_task,
            [(cfg_json, *t) for t in tasks],
            on_submit=lambda i: grid.mark(cells_of(tasks[i]), RUNNING),
        ):
            if error is not None:
                failed.append(
                    f"{tasks[i][0]} seeds {[cfg.seed + s for s in tasks[i][1]]}: "
                    f"{type(error).__name__}: {str(error).strip()[:200]}"
                )
                grid.mark_failed(cells_of(tasks[i]))
                if log:
                    log("failed: " + failed[-1])
                continue
            finish(tasks[i], result)
    finally:  # interrupted: what was handed out and not finished is to do again
        running = grid.cells(RUNNING)
        if running:
            grid.mark(running, TODO)
    if failed:
        raise TasksFailed(f"{len(failed)} task(s) failed (rerun to retry them); first: {failed[0]}")
    return grid.ds


def steps_per_network(cfg: ProfileConfig, n_train: int) -> int:
    per_epoch = -(-n_train // cfg.batch_size)
    if per_epoch > 1 and n_train % cfg.batch_size == 1:
        per_epoch -= 1
    return per_epoch * cfg.epochs
