"""Training an encoder-projector on (random) labels under augmentation (section 4, table 6).

MSE on one-hot targets (cross-entropy optional), Adam (0.9, 0.999), no weight decay, no schedule,
batch 256. Learning rate 3e-4 by default: the paper's table 6 reads 4e-3, the authors' published
launch command uses 3e-4 (docs/training-protocol.md gives each value and its source).

Reproducibility: the model is built under `seed`, the order of epoch e is a permutation seeded by
(seed, e) and the augmentation/mixup draws of step t by (seed, t). So the full training state is
(model, optimizer, step) and a resumed run is bit-for-bit the uninterrupted one. Checkpoints are
written atomically every N epochs, at the end, and on Ctrl-C (after the step in flight).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr

from benign.empirical.augment import BankDraws, iid_bank, mixup, parse_augmentation
from benign.empirical.datasets import ImageDataset, load_dataset, normalize, subset_indices
from benign.empirical.labels import augmentation_labels, make_labels, num_label_classes, parse_labels
from benign.empirical.networks import ARCHS, INITS, POOLS, fold_batchnorm, seeded_network
from benign.empirical.own_network import is_own_arch, load_factory
from benign.probes.knn_probe import knn_accuracy
from benign.store.atomic import atomic_write, write_text_atomic
from benign.store.netcdf import save_atomic
from benign.store.provenance import provenance_attrs
from benign.theory.counter_random import hash_keys
from benign.theory.devices import autocast_dtype, resolve_device
from benign.theory.training_loop import fit

CHECKPOINT = "checkpoint.pt"
# A checkpoint every checkpoint_every epochs, but not more often than this: with one step an epoch
# (the cpu scale) a 13 MB checkpoint a step would cost more I/O than the step; a resumed run is
# bit-for-bit the uninterrupted one from any checkpoint, and Ctrl-C saves the step in flight.
CHECKPOINT_SECONDS = 30.0
HISTORY = "history.nc"
FORMAT = "benign-train-checkpoint/1"


@dataclass
class TrainConfig:
    dataset: str = "fashion-mnist"  # a built-in name (NAME:a-b for classes a..b), folder:PATH or npz:FILE
    data_root: str | None = None
    image_size: int = 0  # folder:PATH datasets: resize every image to this square side (0: keep)
    download: bool = False
    subset: int = 0  # class-balanced training subset size; 0 = the whole training set
    subset_seed: int = 0
    test_subset: int = 0  # class-balanced test subset for the k-NN probe; 0 = all
    arch: str = "small_cnn"
    stem: str = "auto"  # cifar | stride2 | auto (stride2 for >= 64x64 inputs)
    projector_width: int = 65536
    cnn_width: int = 32  # channels of small_cnn's first stage
    labels: str = "random"  # clean | random | noise:<f> | classes:<C'> | per-sample
    label_seed: int = 0
    augment: str = "simclr"  # none | simclr | randaugment:<level> | simclr+randaugment:<level>
    mixup: str = "off"  # off | xy (paper) | x (authors' code: inputs only, 80% of batches)
    mixup_alpha: float = 1.0
    bank: int = 0  # B fixed augmentations per image (figure 6); 0 = a fresh draw every time
    bank_labels: str = "image"  # image | random: labels of the bank's augmentations
    iid: int = 0  # table 3: B i.i.d. same-class images as the "augmentations" (needs subset)
    loss: str = "mse"  # mse | ce (on the labels) | simclr (NT-Xent on two views; labels unused)
    simclr_dim: int = 128  # loss = simclr: the output layer is the contrastive head of this width
    lr: float = 3e-4
    # fraction of the budget, at its end, over which the learning rate falls linearly to 0; 0 = constant
    # (the paper's). Adam at a constant rate leaves a few random labels flipping in and out of the fit
    # at the end of a short budget; a cooldown lets the network settle on a fit (Definition 4.1)
    cooldown: float = 0.0
    # share of the (sub)set the run trains on, drawn by `seed` (Feldman & Zhang's estimator trains
    # models on random halves: 0.5); the rest is held out, and every example is scored after training
    train_share: float = 1.0
    # a known answer for memorization scores: this share of the (sub)set replaced by images of
    # `outlier_dataset` (same shape), drawn by subset_seed; their labels stay those they replace
    outliers: float = 0.0
    outlier_dataset: str = "digits"
    batch_size: int = 256
    epochs: int = 1
    steps: int = 0  # > 0: the budget in steps instead of epochs
    seed: int = 0
    device: str = "auto"
    compile: bool = False
    eval_every: int = 1  # epochs between probes of the learning curve; 0 = only at the end
    checkpoint_every: int = 1  # epochs between checkpoints
    knn_k: int = 20
    # k-NN reference of the probes: "full" = the whole clean training split with its true labels (the
    # authors' main.py), "subset" = the training images only; layer probes on flattened maps or "avg"
    probe_reference: str = "full"
    probe_pool: str = "flatten"
    init: str = "authors"  # convolutions: authors (kaiming normal, fan_out) | pytorch (PyTorch default)
    precision: str = "auto"  # auto (bf16 autocast on CUDA, float32 on CPU) | float32 | bfloat16
    out: str = "results/train"

    # options that may change between a run and its resumption
    RESUMABLE = (
        "epochs",
        "steps",
        "device",
        "compile",
        "eval_every",
        "checkpoint_every",
        "out",
        "download",
        "data_root",
    )

    def validate(self) -> None:
        if is_own_arch(self.arch):
            load_factory(self.arch)  # importable, and names a function
        elif self.arch not in ARCHS:
            raise ValueError(
                f"unknown architecture {self.arch!r}; choose from {', '.join(ARCHS)} or MODULE:FACTORY"
            )
        parse_labels(self.labels)
        parse_augmentation(self.augment)
        checks = [
            (self.loss in ("mse", "ce", "simclr"), f"loss must be mse, ce or simclr, got {self.loss!r}"),
            (
                self.loss != "simclr" or (self.mixup == "off" and not self.bank and not self.iid),
                "the simclr loss takes two fresh views of each image: no mixup, bank or i.i.d. views",
            ),
            (self.simclr_dim >= 1, "the simclr head's width must be positive"),
            (self.mixup in ("off", "xy", "x"), f"mixup must be off, xy or x, got {self.mixup!r}"),
            (self.bank_labels in ("image", "random"), "bank labels must be 'image' or 'random'"),
            (
                self.stem in ("auto", "cifar", "stride2"),
                f"stem must be auto, cifar or stride2, got {self.stem!r}",
            ),
            (self.lr > 0, "the learning rate must be positive"),
            (0.0 <= self.cooldown <= 1.0, f"the cooldown must be a fraction in [0, 1], got {self.cooldown}"),
            (0.0 < self.train_share <= 1.0, f"the train share must be in (0, 1], got {self.train_share}"),
            (0.0 <= self.outliers < 1.0, f"the outlier share must be in [0, 1), got {self.outliers}"),
            (
                self.train_share == 1.0 or not (self.bank or self.iid),
                "a train share below 1 does not combine with a bank or i.i.d. augmentations",
            ),
            (self.batch_size >= 2, "batch size must be at least 2 (batch norm)"),
            (self.epochs >= 1 or self.steps >= 1, "the budget must be at least one epoch or one step"),
            (self.steps >= 0 and self.epochs >= 0, "budgets cannot be negative"),
            (self.bank >= 0 and self.iid >= 0, "bank and iid sizes cannot be negative"),
            (
                not (self.bank and self.iid),
                "choose either a bank of fixed augmentations or i.i.d. augmentations, not both",
            ),
            (not self.iid or self.subset > 0, "i.i.d. augmentations (table 3) need --subset (e.g. 1000)"),
            (self.projector_width >= 1, "projector width must be positive"),
            (self.cnn_width >= 1, "cnn width must be positive"),
            (self.image_size >= 0, "the image size cannot be negative"),
            (self.mixup_alpha > 0, "the mixup alpha must be positive"),
            (self.knn_k >= 1, "k must be positive"),
            (
                self.probe_reference in ("full", "subset"),
                f"probe reference must be full or subset, got {self.probe_reference!r}",
            ),
            (self.probe_pool in POOLS, f"probe pool must be flatten or avg, got {self.probe_pool!r}"),
            (self.init in INITS, f"init must be authors or pytorch, got {self.init!r}"),
            (self.subset >= 0 and self.test_subset >= 0, "subset sizes cannot be negative"),
            (
                self.eval_every >= 0 and self.checkpoint_every >= 1,
                "eval_every >= 0 and checkpoint_every >= 1",
            ),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)
        autocast_dtype(self.precision, resolve_device(self.device))  # a CUDA device that is not here


@dataclass
class RunData:
    """Everything a run trains and probes on, rebuilt identically from its config."""

    train: ImageDataset  # the training images (a subset of the split when asked)
    test: ImageDataset
    train_index: torch.Tensor  # their indices in the full training split
    labels: torch.Tensor  # the training labels (random, noisy, ...)
    label_width: int
    aug_labels: torch.Tensor | None = None  # (n, B) for a bank
    iid_bank: torch.Tensor | None = None  # (n, B) indices into `full_images`
    full_images: torch.Tensor | None = None
    reference: ImageDataset | None = None  # the k-NN probes' reference: clean images, true labels
    # train_share < 1: the whole (sub)set the share was drawn from, its training labels, and which
    # of its examples this run trains on (the others are held out)
    pool: ImageDataset | None = None
    pool_labels: torch.Tensor | None = None
    pool_index: torch.Tensor | None = None  # the pool's indices in the full training split
    in_training: torch.Tensor | None = None
    outlier: torch.Tensor | None = None  # (n,) bool: the example was injected from outlier_dataset
    pool_outlier: torch.Tensor | None = None

    @property
    def probe_reference(self) -> ImageDataset:
        return self.train if self.reference is None else self.reference


def prepare_data(cfg: TrainConfig, device) -> RunData:
    where = dict(root=cfg.data_root, device=device, download=cfg.download, image_size=cfg.image_size)
    full, test = (load_dataset(cfg.dataset, train=train, **where) for train in (True, False))
    if cfg.subset:
        idx = subset_indices(full.labels, cfg.subset, cfg.subset_seed, full.num_classes).to(device)
    else:
        idx = torch.arange(len(full), device=device)
    if cfg.test_subset:
        tidx = subset_indices(test.labels, cfg.test_subset, cfg.subset_seed + 1, test.num_classes).to(device)
        test = dataclasses.replace(test, images=test.images[tidx], labels=test.labels[tidx])
    train = dataclasses.replace(full, images=full.images[idx], labels=full.labels[idx])
    outlier = None
    if cfg.outliers:
        train, outlier = inject_outliers(train, cfg, device)
    spec = parse_labels(cfg.labels)
    width = num_label_classes(spec, full.num_classes, len(train))
    labels = make_labels(train.labels, spec, full.num_classes, cfg.label_seed)
    data = RunData(train, test, idx, labels, width, outlier=outlier)
    if cfg.train_share < 1:
        data = held_out_split(data, cfg.train_share, cfg.seed)
    if cfg.probe_reference == "full" and cfg.subset:  # without a subset the training set is the split
        data.reference = full  # uint8 on the device, normalised per batch when embedded
    if cfg.bank:
        data.aug_labels = augmentation_labels(labels, cfg.bank, width, cfg.label_seed, cfg.bank_labels)
    if cfg.iid:
        data.iid_bank = iid_bank(full.labels, idx, cfg.iid, cfg.subset_seed).to(device)
        data.full_images = full.images
    return data


def inject_outliers(train: ImageDataset, cfg: TrainConfig, device) -> tuple[ImageDataset, torch.Tensor]:
    """train with round(outliers n) of its images replaced by images of cfg.outlier_dataset (both
    drawn by subset_seed), and the (n,) mask of the replaced ones."""
    n = len(train)
    k = round(cfg.outliers * n)
    other = load_dataset(cfg.outlier_dataset, cfg.data_root, train=True, device=device, download=cfg.download)
    if other.images.shape[1:] != train.images.shape[1:]:
        raise ValueError(
            f"outlier images of {cfg.outlier_dataset} are {tuple(other.images.shape[1:])}, the data's "
            f"{tuple(train.images.shape[1:])}"
        )
    g = _generator("cpu", cfg.subset_seed, 0x0071)
    where = torch.randperm(n, generator=g)[:k].to(device)
    pick = torch.randperm(len(other), generator=g)[:k].to(device)
    images = train.images.clone()
    images[where] = other.images[pick]
    mask = torch.zeros(n, dtype=torch.bool, device=device)
    mask[where] = True
    return dataclasses.replace(train, images=images), mask


def held_out_split(data: RunData, share: float, seed: int) -> RunData:
    """The run on a random share of data's examples (round(share n) of them, drawn by `seed`); the
    whole set stays as the pool every example of which is scored after training."""
    n = len(data.train)
    keep = torch.randperm(n, generator=_generator("cpu", seed, 0xFE1D)).to(data.labels.device)
    keep = keep[: max(2, round(share * n))].sort().values
    mask = torch.zeros(n, dtype=torch.bool, device=data.labels.device)
    mask[keep] = True
    train = dataclasses.replace(data.train, images=data.train.images[keep], labels=data.train.labels[keep])
    return dataclasses.replace(
        data,
        train=train,
        train_index=data.train_index[keep],
        labels=data.labels[keep],
        pool=data.train,
        pool_labels=data.labels,
        pool_index=data.train_index,
        in_training=mask,
        outlier=None if data.outlier is None else data.outlier[keep],
        pool_outlier=data.outlier,
    )


def build_model(cfg: TrainConfig, data: RunData, device) -> torch.nn.Module:
    """The network at initialisation: a pure function of cfg.seed (probing at init rebuilds it)."""
    stem = cfg.stem
    if stem == "auto":
        stem = "stride2" if cfg.arch != "small_cnn" and data.train.images.shape[-1] >= 64 else "cifar"
    model = seeded_network(
        cfg.seed,
        cfg.arch,
        cfg.simclr_dim if cfg.loss == "simclr" else data.label_width,
        data.train.channels,
        cfg.projector_width,
        stem,
        cnn_width=cfg.cnn_width,
        init=cfg.init,
        image_size=data.train.images.shape[-1],
    )
    return model.to(device)


def _generator(device, *keys) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(hash_keys(*keys)))
    return g


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, device) -> list[torch.Tensor]:
    perm = torch.randperm(n, generator=_generator("cpu", seed, 0xE0C, epoch)).to(device)
    batches = list(perm.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) < 2:  # batch norm cannot train on one image
        batches.pop()
    return batches


def learning_rate(cfg: TrainConfig, step: int, total: int) -> float:
    """The learning rate of step `step` (0-based) of `total`: constant, then over the last `cooldown`
    share of the budget linearly down to lr / n_cooldown at the last step."""
    n_cool = round(cfg.cooldown * total)
    left = total - step
    return cfg.lr if left > n_cool else cfg.lr * (left / n_cool)


def make_batch(cfg: TrainConfig, data: RunData, aug, batch: torch.Tensor, step: int, device):
    """Inputs (normalised float) and soft targets (n, width) of one training step."""
    g = _generator(device, cfg.seed, 0x57E9, step)
    labels = data.labels[batch]
    if cfg.iid:
        b = torch.randint(cfg.iid, (len(batch),), generator=g, device=device)
        images = data.full_images[data.iid_bank[batch, b]]
    else:
        images = data.train.images[batch]
    if cfg.bank:
        b = torch.randint(cfg.bank, (len(batch),), generator=g, device=device)
        x = aug(images, draws=BankDraws(cfg.seed, data.train_index[batch], b))
        labels = data.aug_labels[batch, b]
    elif cfg.loss == "simclr":  # two independent views of every image; the loss pairs them
        return normalize(torch.cat([aug(images, generator=g), aug(images, generator=g)]), data.train), None
    else:
        x = aug(images, generator=g)
    targets = F.one_hot(labels, data.label_width).float()
    if cfg.mixup != "off":
        x, targets = mixup(x, targets, g, cfg.mixup_alpha, cfg.mixup)
    return normalize(x, data.train), targets


@torch.inference_mode()
def embed_all(model, images, dataset: ImageDataset, names=("embedding",), batch_size: int = 256, pool="avg"):
    """Named representations of clean (unaugmented) images by the eval-mode network, on the images'
    device. The pass runs on a copy with its batch norms folded into the convolutions, channels last:
    3.3x faster than the plain eval network on one CPU thread (small CNN, `make bench`), the same
    function up to rounding; 256 images a batch keep the activations in cache."""
    net = fold_batchnorm(model).to(memory_format=torch.channels_last)
    chunks = {k: [] for k in names}
    for i in range(0, images.shape[0], batch_size):
        x = normalize(images[i : i + batch_size], dataset).contiguous(memory_format=torch.channels_last)
        feats = net.features(x, names, pool=pool)
        for k in names:
            chunks[k].append(feats[k].float())
    return {k: torch.cat(v) for k, v in chunks.items()}


def evaluate(
    model, data: RunData, k: int, knn_cache: str | Path | None = None, fits_labels: bool = True
) -> dict:
    """Accuracy on the training labels (clean images) and k-NN probe of the embedding: fitted on the
    clean reference (the whole training split by default) with true labels, scored on the test set.
    With the whole split as reference, the training images' embeddings are its rows (one pass).

    knn_cache: a folder of k-NN probes named by what decides them (probe_key); a probe found there is
    not recomputed: only the training images are embedded, for the training accuracy.
    fits_labels = False (a contrastive head): the training accuracy is NaN."""

    def labels_fitted(emb_train) -> float:
        if not fits_labels:
            return float("nan")
        return (projector_output(model, emb_train).argmax(1) == data.labels).double().mean().item()

    ref = data.probe_reference
    key = probe_key(model, data, k) if knn_cache else None
    cached = _read_probe(knn_cache, key) if key else None
    if cached is not None:
        emb_train = embed_all(model, data.train.images, data.train, ("embedding",))["embedding"]
        return {"train_accuracy": labels_fitted(emb_train), "knn_accuracy": cached}
    emb = embed_all(model, ref.images, data.train, ("embedding",))["embedding"]
    te = embed_all(model, data.test.images, data.train, ("embedding",))["embedding"]
    emb_train = emb if data.reference is None else emb[data.train_index]
    train_acc = labels_fitted(emb_train)
    knn = knn_accuracy(emb, ref.labels, te, data.test.labels, data.train.num_classes, k=k)
    if key:
        write_text_atomic(Path(knn_cache) / f"{key}.json", json.dumps({"knn_accuracy": knn}))
    return {"train_accuracy": train_acc, "knn_accuracy": knn}


PROBE_VERSION = 2  # raise when evaluate's k-NN probe changes what it computes


def probe_key(model, data: RunData, k: int) -> str:
    """A hash of everything the k-NN probe of `model` reads: its weights, the reference and test images
    and labels, the normalisation, k and the device type. Cells of a grid that share a seed share their
    network at initialisation, and so this key (figure 6's, table 2's, nb's cells at step 0)."""
    h = hashlib.sha256(f"knn-probe {PROBE_VERSION} k={k} {data.train.mean} {data.train.std}".encode())
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    for split in (data.probe_reference, data.test):
        h.update(str(split.images.device.type).encode())
        for tensor in (split.images, split.labels):
            h.update(tensor.cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:32]


def _read_probe(folder, key: str) -> float | None:
    try:
        return float(json.loads((Path(folder) / f"{key}.json").read_text())["knn_accuracy"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@torch.no_grad()
def projector_output(model, embedding: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """The network's output from its embedding, in batches (eval mode: the projector has no batch norm)."""
    dtype = next(model.projector.parameters()).dtype
    return torch.cat([model.projector(h.to(dtype))[1].float() for h in embedding.split(batch_size)])


def loss_fn(name: str, output, targets):
    if name == "simclr":  # output (2B, dim): the two views of the batch's images, in order
        from benign.empirical.profiles.simclr import nt_xent

        z1, z2 = output.float().chunk(2)
        return nt_xent(z1, z2)
    if name == "mse":
        return F.mse_loss(output.float(), targets)
    return F.cross_entropy(output.float(), targets)


def history_dataset(history: list[dict], cfg: TrainConfig) -> xr.Dataset:
    h = {k: np.array([row[k] for row in history]) for k in history[0]} if history else {}
    epoch = h.pop("epoch", np.zeros(0))
    meta = {
        "train_loss": ("mean training loss over the epoch's augmented batches", "1"),
        "train_accuracy": ("accuracy on the training labels, clean images", "1"),
        "knn_accuracy": (f"{cfg.knn_k}-NN probe of the embedding, clean test labels", "1"),
        "step": ("optimizer steps done", "1"),
        "wall_time": ("training wall time so far", "s"),
    }
    ds = xr.Dataset(
        {k: ("epoch", h.get(k, np.zeros(0))) for k in meta}, coords={"epoch": epoch.astype(float)}
    )
    for k, (long_name, units) in meta.items():
        ds[k].attrs = {"long_name": long_name, "units": units}
    ds["epoch"].attrs = {"long_name": "epochs done (fractional at a mid-epoch end of budget)", "units": "1"}
    ds.attrs = provenance_attrs("training curve", dataclasses.asdict(cfg))
    return ds


def save_checkpoint(path: Path, payload: dict) -> None:
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path, map_location="cpu") -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:
        raise ValueError(f"{path} is not a readable checkpoint ({type(e).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path} is not a `benign train` checkpoint")
    return ckpt


def config_from_checkpoint(ckpt: dict) -> TrainConfig:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    old = {"init": "pytorch"}  # checkpoints written before the option existed used PyTorch's init
    return TrainConfig(**{**old, **{k: v for k, v in ckpt["config"].items() if k in known}})


class _StopFlag:
    """SIGINT sets a flag checked after each step (a second Ctrl-C interrupts at once)."""

    def __init__(self):
        self.stop = False
        self._old = None

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            self._old = signal.getsignal(signal.SIGINT)

            def handler(signum, frame):
                self.stop = True
                signal.signal(signal.SIGINT, self._old)

            signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def train(
    cfg: TrainConfig,
    resume: bool = True,
    progress=None,
    stop_at_step: int | None = None,
    extra_eval=None,
    init_probes: str | Path | None = None,
) -> dict:
    """Train (or resume) the run in cfg.out; returns {'history', 'checkpoint', 'model', 'data', 'step'}.

    progress(step, total_steps, metrics) is called after every step. stop_at_step simulates a Ctrl-C
    after that many steps (tests). Raises KeyboardInterrupt after saving when interrupted.
    extra_eval(model, data) -> dict is called at every evaluation; its entries join the history rows
    (and the checkpoint), not history.nc. init_probes: a folder of k-NN probes that runs sharing their
    initialisation share (evaluate's knn_cache), read and written for the probe at step 0.
    """
    cfg.validate()
    device = resolve_device(cfg.device)
    out = Path(cfg.out)
    ckpt_path, hist_path = out / CHECKPOINT, out / HISTORY
    ckpt = None
    if resume and ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path)
        old = ckpt["config"]
        diff = [k for k in old if k not in TrainConfig.RESUMABLE and old[k] != getattr(cfg, k, None)]
        if diff:
            shown = ", ".join(f"{k}={old[k]!r} (now {getattr(cfg, k, None)!r})" for k in diff[:3])
            raise ValueError(
                f"{ckpt_path} belongs to a different run: {shown}; use another --out or --no-resume"
            )

    data = prepare_data(cfg, device)
    model = build_model(cfg, data, device)
    amp = autocast_dtype(cfg.precision, device)
    # channels last on every device: on one CPU thread (a grid worker) the small CNN's training step
    # takes 0.29 s against 0.43 s in the default layout (oneDNN's convolutions); on a GPU, tensor cores
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999), weight_decay=0.0)
    step, history, loss_sum, loss_count, wall = 0, [], 0.0, 0, 0.0
    if ckpt is not None:
        try:
            model.load_state_dict(ckpt["model"])
        except RuntimeError:
            raise ValueError(f"{ckpt_path} holds weights of another model than {cfg.arch}") from None
        opt.load_state_dict(ckpt["optimizer"])
        if not torch.equal(ckpt["labels"].to(device), data.labels):
            raise ValueError(f"{ckpt_path}: the training labels differ from the ones this config rebuilds")
        step, history = ckpt["step"], ckpt["history"]
        loss_sum, loss_count, wall = ckpt["loss_sum"], ckpt["loss_count"], ckpt["wall_time"]
    run = torch.compile(model) if cfg.compile else model
    aug = parse_augmentation(cfg.augment)

    n = len(data.train)
    spe = len(epoch_batches(n, cfg.batch_size, cfg.seed, 0, "cpu"))
    total = cfg.steps if cfg.steps else cfg.epochs * spe

    def record(epoch: float):
        metrics = evaluate(
            model,
            data,
            cfg.knn_k,
            knn_cache=init_probes if step == 0 else None,
            fits_labels=cfg.loss != "simclr",
        )
        extra = extra_eval(model, data) if extra_eval is not None else {}
        history.append(
            {
                "epoch": epoch,
                "train_loss": loss_sum / loss_count if loss_count else float("nan"),
                "step": step,
                "wall_time": wall,
                **metrics,
                **extra,
            }
        )
        save_atomic(history_dataset(history, cfg), hist_path)
        return metrics

    def checkpoint():
        save_checkpoint(
            ckpt_path,
            {
                "format": FORMAT,
                "config": dataclasses.asdict(cfg),
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "step": step,
                "history": history,
                "labels": data.labels.cpu(),
                "aug_labels": None if data.aug_labels is None else data.aug_labels.cpu(),
                "train_index": data.train_index.cpu(),
                "loss_sum": loss_sum,
                "loss_count": loss_count,
                "wall_time": wall,
                "label_width": data.label_width,
                "in_channels": data.train.channels,
                "torch_version": torch.__version__,
            },
        )

    saved = time.monotonic()
    if not history:
        record(0.0)
    metrics = dict(history[-1]) if history else {}
    model.train()

    def batches(epoch: int) -> list[torch.Tensor]:
        return epoch_batches(n, cfg.batch_size, cfg.seed, epoch, device)

    def loss(batch: torch.Tensor, at: int) -> torch.Tensor:
        x, targets = make_batch(cfg, data, aug, batch, at, device)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
            output = run(x)
        return loss_fn(cfg.loss, output, targets)

    def after_step(value: torch.Tensor, batch, at: int, seconds: float) -> None:
        nonlocal step, loss_sum, loss_count, wall, saved
        step = at
        loss_sum += value.item()
        loss_count += 1
        wall += seconds
        metrics["train_loss"] = loss_sum / loss_count
        if step % spe == 0:  # the end of an epoch: the learning curve, and a checkpoint now and then
            done = step // spe
            if (cfg.eval_every and done % cfg.eval_every == 0) or step == total:
                metrics.update(record(float(done)))
            loss_sum, loss_count = 0.0, 0
            if (done % cfg.checkpoint_every == 0 and time.monotonic() - saved >= CHECKPOINT_SECONDS) or (
                step == total
            ):
                checkpoint()
                saved = time.monotonic()
        elif step == total:
            metrics.update(record(step / spe))
            checkpoint()
        if progress is not None:
            progress(step, total, metrics)
        if flag.stop or (stop_at_step is not None and step >= stop_at_step and step < total):
            checkpoint()
            raise KeyboardInterrupt

    with _StopFlag() as flag:
        fit(
            opt,
            batches,
            loss,
            total,
            spe,
            start_step=step,
            lr=lambda at: learning_rate(cfg, at, total),
            after_step=after_step,
        )
    if ckpt is not None and step >= total and not ckpt_path.exists():
        checkpoint()
    return {
        "history": history,
        "checkpoint": ckpt_path,
        "model": model,
        "data": data,
        "step": step,
        "config": cfg,
    }
