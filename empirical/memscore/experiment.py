"""One memorization run, end to end, as a labelled xarray Dataset (`benign memscore run`).

Pool -> optional label corruption -> masks -> turn-over training (per-epoch seen/muted correctness,
optional eq. 3 / eq. 4 tracking) -> scores (eq. 6) for every example, influence (eq. 5) of every
example on a few test targets, and the lowest / highest scoring examples of every class with
their pixels (appendix C) so that plotting needs no data set.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import xarray as xr

from empirical.memscore.corruption import corrupt_labels
from empirical.memscore.data import load_pool
from empirical.memscore.models import build_model
from empirical.memscore.scores import influence, split_by_score
from empirical.memscore.training import TrainConfig, train_turnover
from empirical.memscore.turnover_dropout import KEEP_SCALE, MaskBank

TITLE = "memorization scores by turn-over dropout"
TRAIN_SUBSETS = ("all", "easy", "difficult", "not-difficult")


@dataclass
class RunConfig:
    dataset: str = "fashion-mnist"
    data_root: str | None = None
    n_train: int = 12000
    n_test: int = 2000
    corrupt: int | None = None         # None: corrupt_fraction of the pool
    corrupt_fraction: float = 0.0
    allow_true_label: bool = False
    model: str = "mlp"
    hidden: int = 4096
    width: float = 1.0
    epochs: int = 8
    lr: float = 0.06
    momentum: float = 0.0
    batch_size: int = 256
    milestones: list[int] = field(default_factory=list)
    seed: int = 0
    grad_every: int = 25
    grad_chunk: int = 16
    influence_targets: int = 8
    show: int = 4
    scores_from: str | None = None
    train_subset: str = "all"
    subset_fraction: float = 1 / 6
    device: str = "cpu"


def _prior_groups(cfg: RunConfig, dataset_index: torch.Tensor):
    from grids.netcdf import load_result

    prior = load_result(cfg.scores_from, require_title=TITLE, require_vars=("score", "dataset_index"))
    if prior.sizes["example"] != len(dataset_index) or not np.array_equal(prior["dataset_index"].values,
                                                                         dataset_index.numpy()):
        raise ValueError(f"{cfg.scores_from} scores a different pool of examples (use the same --dataset, "
                         f"--n-train and --seed)")
    return split_by_score(torch.from_numpy(prior["score"].values.astype(np.float32)), cfg.subset_fraction)


def run(cfg: RunConfig, on_step=None, on_epoch=None, log=print) -> xr.Dataset:
    if cfg.train_subset not in TRAIN_SUBSETS:
        raise ValueError(f"--train-subset must be one of {', '.join(TRAIN_SUBSETS)}")
    if cfg.train_subset != "all" and not cfg.scores_from:
        raise ValueError("--train-subset easy/difficult/not-difficult needs --scores-from a previous run")
    if cfg.influence_targets < 0 or cfg.show < 0:
        raise ValueError("--influence-targets and --show must be >= 0")
    t0 = time.time()
    torch.manual_seed(cfg.seed)
    train, train_index = load_pool(cfg.dataset, cfg.data_root, cfg.n_train, cfg.seed, train=True)
    test, test_index = load_pool(cfg.dataset, cfg.data_root, cfg.n_test, cfg.seed, train=False)
    n = len(train)
    true_labels = train.labels.cpu()
    k = cfg.corrupt if cfg.corrupt is not None else int(round(cfg.corrupt_fraction * n))
    labels, corrupted = corrupt_labels(true_labels, k, train.num_classes, cfg.seed, cfg.allow_true_label)
    device = torch.device(cfg.device)
    model = build_model(cfg.model, train.channels, train.images.shape[-1], train.num_classes,
                        hidden=cfg.hidden, width=cfg.width).to(device)
    bank = MaskBank(model.masked_units, n, seed=cfg.seed)
    log(f"pool: {n} training examples ({int(corrupted.sum())} corrupted), {len(test)} test; "
        f"masks: {bank.n_redrawn} redrawn to keep them distinct")

    if cfg.scores_from:
        easy, difficult = _prior_groups(cfg, train_index)
        subsets = f"lowest / highest {cfg.subset_fraction:.4g} of the scores in {cfg.scores_from}"
    elif k > 0:
        easy, difficult = ~corrupted, corrupted
        subsets = "easy = clean labels, difficult = corrupted (random) labels"
    else:
        easy = difficult = None
        subsets = "none (no corruption and no --scores-from)"
    groups = {} if easy is None else {"easy": easy, "difficult": difficult}
    trained = {"all": torch.ones(n, dtype=torch.bool), "easy": easy, "difficult": difficult,
               "not-difficult": None if difficult is None else ~difficult}[cfg.train_subset]

    tcfg = TrainConfig(epochs=cfg.epochs, lr=cfg.lr, momentum=cfg.momentum, batch_size=cfg.batch_size,
                       milestones=tuple(cfg.milestones), seed=cfg.seed,
                       grad_every=cfg.grad_every if groups else 0, grad_chunk=cfg.grad_chunk)
    rec = train_turnover(model, bank, train.images, labels, train.mean, train.std, tcfg, train_mask=trained,
                         groups=groups, test=(test.images, test.labels), on_step=on_step, on_epoch=on_epoch)
    ev = rec.final
    score = ev.score

    # influence of every training example on the first few test examples (eq. 5)
    t = min(cfg.influence_targets, len(test))
    infl = (influence(model, bank, test.images[:t], test.labels[:t], train.mean, train.std)
            if t else torch.zeros(n, 0))

    # appendix C: per class, the `show` lowest and highest scores among trained examples
    show_idx, show_kind = [], []
    for c in range(train.num_classes):
        members = torch.nonzero((labels == c) & trained).flatten()
        if len(members) == 0:
            continue
        order = members[torch.argsort(score[members], stable=True)]
        k = min(cfg.show, len(order))
        show_idx += order[:k].tolist() + order[len(order) - k:].tolist()
        show_kind += [0] * k + [1] * k
    show_idx_t = torch.tensor(show_idx, dtype=torch.int64)

    epochs = np.arange(cfg.epochs + 1)
    cs = torch.stack(rec.correct_seen).numpy().astype(np.int8)
    cm = torch.stack(rec.correct_muted).numpy().astype(np.int8)
    tr = trained.numpy()
    ex = ("example",)

    def var(dims, data, long_name, units="1", **extra):
        return xr.Variable(dims, data, {"long_name": long_name, "units": units, **extra})

    data_vars = {
        "dataset_index": var(ex, train_index.numpy(), "index of the example in the data set's training split"),
        "label": var(ex, labels.numpy(), "training label (after corruption)"),
        "true_label": var(ex, true_labels.numpy(), "original label"),
        "corrupted": var(ex, corrupted.numpy().astype(np.int8), "label replaced by a random one (1) or not (0)"),
        "trained": var(ex, tr.astype(np.int8), "example was trained on (1) or only evaluated (0)"),
        "score": var(ex, score.numpy(), "memorization score (self-influence): loss(muted) - loss(seen)", "nats"),
        "loss_seen": var(ex, ev.loss_seen.numpy(), "cross-entropy of the example's seen sub-network", "nats"),
        "loss_muted": var(ex, ev.loss_muted.numpy(), "cross-entropy of the example's muted sub-network", "nats"),
        "pred_seen": var(ex, ev.pred_seen.numpy(), "class predicted by the seen sub-network"),
        "pred_muted": var(ex, ev.pred_muted.numpy(), "class predicted by the muted sub-network"),
        "correct_seen": var(("epoch", "example"), cs, "seen sub-network predicts the training label"),
        "correct_muted": var(("epoch", "example"), cm, "muted sub-network predicts the training label"),
        "accuracy_seen": var(("epoch",), cs[:, tr].mean(1), "training accuracy of the seen sub-networks"),
        "accuracy_muted": var(("epoch",), cm[:, tr].mean(1), "training accuracy of the muted sub-networks"),
        "train_loss": var(("epoch",), np.array(rec.train_loss), "mean training loss over the epoch", "nats"),
        "test_accuracy": var(("epoch",), np.array(rec.test_accuracy), "test accuracy of the full network (no mask)"),
        "influence": var(("example", "target"), infl.numpy(),
                         "influence of the training example on the target: loss(muted) - loss(seen)", "nats"),
        "target_index": var(("target",), test_index[:t].numpy(), "index of the target in the test split"),
        "target_label": var(("target",), test.labels[:t].cpu().numpy(), "label of the target"),
        "showcase_example": var(("showcase",), show_idx_t.numpy(), "example shown in the appendix-C grid"),
        "showcase_kind": var(("showcase",), np.array(show_kind, dtype=np.int8),
                             "0: among the lowest scores of its class, 1: among the highest"),
        "showcase_image": var(("showcase", "channel", "row", "col"),
                              train.images[show_idx_t].cpu().numpy() if show_idx else
                              np.zeros((0, *train.images.shape[1:]), np.uint8), "pixel value", "uint8 intensity"),
    }
    if easy is not None:
        data_vars["in_easy"] = var(ex, easy.numpy().astype(np.int8), "member of the easy subset")
        data_vars["in_difficult"] = var(ex, difficult.numpy().astype(np.int8), "member of the difficult subset")
    if rec.grad_step:
        gs = ("grad_step",)
        data_vars["grad_epoch"] = var(gs, np.array(rec.grad_epoch), "training progress when measured", "epochs")
        for k in groups:
            data_vars[f"cosine_{k}"] = var(gs, np.array(rec.cosine[k]),
                                           f"mean pairwise cosine of per-example gradients within the {k} subset (eq. 3)")
        for k in [*groups, "all"]:
            data_vars[f"contribution_{k}"] = var(gs, np.array(rec.contribution[k]),
                                                 f"mean contribution (v_i . g)/||g|| of {k} examples of the batch (eq. 4)",
                                                 "gradient norm")
    coords = {"example": np.arange(n), "epoch": epochs, "target": np.arange(t),
              "showcase": np.arange(len(show_idx))}
    if rec.grad_step:
        coords["grad_step"] = np.array(rec.grad_step)
    ds = xr.Dataset(data_vars, coords=coords)
    ds["epoch"].attrs = {"long_name": "epoch (0: initialisation)", "units": "epochs"}
    ds["example"].attrs = {"long_name": "example of the training pool", "units": "1"}
    ds["target"].attrs = {"long_name": "target example of the test split", "units": "1"}
    ds["showcase"].attrs = {"long_name": "shown example", "units": "1"}
    if "grad_step" in ds.coords:
        ds["grad_step"].attrs = {"long_name": "optimizer step", "units": "steps"}
    ds.attrs.update({"dataset": train.name, "num_classes": train.num_classes, "subsets": subsets,
                     "keep_scale": KEEP_SCALE, "masks_redrawn": bank.n_redrawn,
                     "wall_time_s": round(time.time() - t0, 1)})
    return ds


def config_dict(cfg: RunConfig) -> dict:
    return asdict(cfg)
