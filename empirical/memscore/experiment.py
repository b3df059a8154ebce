"""One memorization run, end to end, as a labelled xarray Dataset (`benign memscore run`).

Pool -> optional label corruption -> masks -> turn-over training (per-epoch seen/muted correctness,
optional eq. 3 / eq. 4 tracking) -> scores (eq. 6) for every example, influence (eq. 5) of every
example on a few test targets, and the lowest / highest scoring examples of every class with
their pixels (appendix C) so that plotting needs no data set.

Test subsets (figure 5 b, d): a test example has no memorization score of its own in a run (it is
never trained on), so, as the paper computes "the memorization scores of the training data and test
data beforehand", the test examples are scored by a run *on the test split* (``split="test"``: the
pool is drawn from the test split, evaluated on the training split) and ``test_scores_from`` names
that run; its lowest / highest ``subset_fraction`` of scores are the easy / difficult test subsets,
whose accuracy (full network) is recorded every epoch like the training subsets'.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import xarray as xr

from benign.empirical.memscore.corruption import corrupt_labels
from benign.empirical.memscore.data import load_pool
from benign.empirical.memscore.models import turnover_network
from benign.empirical.memscore.scores import influence, split_by_score
from benign.empirical.memscore.training import train_turnover
from benign.empirical.memscore.turnover_dropout import KEEP_SCALE, MaskBank

TITLE = "memorization scores by turn-over dropout"
TRAIN_SUBSETS = ("all", "easy", "difficult", "not-difficult")


@dataclass
class RunConfig:
    dataset: str = "fashion-mnist"
    data_root: str | None = None
    n_train: int = 12000
    n_test: int = 2000
    corrupt: int | None = None  # None: corrupt_fraction of the pool
    corrupt_fraction: float = 0.0
    allow_true_label: bool = False
    split: str = "train"  # split the pool is drawn from; "test" scores the test examples
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
    grad_method: str = "auto"
    influence_targets: int = 8
    show: int = 4
    scores_from: str | None = None
    test_scores_from: str | None = None
    train_subset: str = "all"
    subset_fraction: float = 1 / 6
    device: str = "cpu"

    def validate(self) -> None:
        """ValueError with one readable line on any impossible setting (before any data is read)."""
        from benign.theory.devices import check_device

        checks = [
            (self.n_train >= 0, f"--n-train must be >= 0 (0: the whole split), got {self.n_train}"),
            (self.n_test >= 0, f"--n-test must be >= 0 (0: the whole split), got {self.n_test}"),
            (self.corrupt is None or self.corrupt >= 0, f"--corrupt must be >= 0, got {self.corrupt}"),
            (0.0 <= self.corrupt_fraction <= 1.0, "the corrupted fraction must be in [0, 1]"),
            (self.epochs >= 1, f"--epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}"),
            (self.lr > 0, f"--lr must be positive, got {self.lr}"),
            (0 <= self.momentum < 1, f"--momentum must be in [0, 1), got {self.momentum}"),
            (
                self.hidden >= 2 and self.hidden % 2 == 0,
                f"--hidden must be even and >= 2 (seen and muted halves), got {self.hidden}",
            ),
            (self.width > 0, f"--width must be positive, got {self.width}"),
            (self.grad_every >= 0, f"--grad-every must be >= 0 (0: off), got {self.grad_every}"),
            (self.grad_chunk >= 1, f"--grad-chunk must be >= 1, got {self.grad_chunk}"),
            (
                self.grad_method in ("auto", "gram", "vmap"),
                f"--grad-method must be auto, gram or vmap, not {self.grad_method!r}",
            ),
            (self.influence_targets >= 0, "--influence-targets must be >= 0"),
            (self.show >= 0, "--show must be >= 0"),
            (all(m >= 1 for m in self.milestones), "--milestones must be epochs >= 1"),
            (0.0 < self.subset_fraction <= 0.5, "--subset-fraction must be in (0, 0.5]"),
            (self.split in ("train", "test"), f"--split must be train or test, not {self.split!r}"),
            (
                self.train_subset in TRAIN_SUBSETS,
                f"--train-subset must be one of {', '.join(TRAIN_SUBSETS)}",
            ),
            (
                self.train_subset == "all" or bool(self.scores_from),
                "--train-subset easy/difficult/not-difficult needs --scores-from a previous run",
            ),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)
        check_device(self.device)


def _prior_scores(path: str, split: str, dataset: str, dataset_index: torch.Tensor) -> torch.Tensor:
    """The scores of a previous run for the examples dataset_index of `split` (in that order)."""
    from benign.store.netcdf import load_result

    prior = load_result(path, require_title=TITLE, require_vars=("score", "dataset_index"))
    prior_split = str(prior.attrs.get("split", "train"))
    if prior_split != split:
        raise ValueError(
            f"{path} scores the {prior_split} split, not the {split} split"
            + (" (make it with --split test)" if split == "test" else "")
        )
    if str(prior.attrs.get("dataset", dataset)) != dataset:
        raise ValueError(f"{path} scores {prior.attrs['dataset']}, not {dataset}")
    where = {int(j): k for k, j in enumerate(prior["dataset_index"].values)}
    missing = sum(int(j) not in where for j in dataset_index.tolist())
    if missing:
        raise ValueError(
            f"{path} has no score for {missing} of the {len(dataset_index)} examples (use the same "
            f"--dataset and --seed, and a pool at least as large)"
        )
    rows = np.array([where[int(j)] for j in dataset_index.tolist()], dtype=np.int64)
    return torch.from_numpy(prior["score"].values[rows].astype(np.float32))


def load_inputs(cfg: RunConfig):
    """What a run reads before it trains: the pools (train_pool, train_index, test_pool, test_index),
    the number k of labels to corrupt, and the earlier runs' scores (test_scores, prior_scores; None
    when not asked for). ValueError in one line where they do not fit (checked before any training)."""
    on_train = cfg.split == "train"
    train, train_index = load_pool(cfg.dataset, cfg.data_root, cfg.n_train, cfg.seed, train=on_train)
    test, test_index = load_pool(cfg.dataset, cfg.data_root, cfg.n_test, cfg.seed, train=not on_train)
    k = cfg.corrupt if cfg.corrupt is not None else int(round(cfg.corrupt_fraction * len(train)))
    if k > len(train):
        raise ValueError(f"cannot corrupt {k} of {len(train)} labels")
    test_scores = (
        _prior_scores(
            cfg.test_scores_from, "train" if cfg.split == "test" else "test", train.name, test_index
        )
        if cfg.test_scores_from
        else None
    )
    prior = _prior_scores(cfg.scores_from, cfg.split, train.name, train_index) if cfg.scores_from else None
    return train, train_index, test, test_index, k, test_scores, prior


def run(cfg: RunConfig, on_step=None, on_epoch=None, log=print) -> xr.Dataset:
    cfg.validate()
    t0 = time.time()
    torch.manual_seed(cfg.seed)
    train, train_index, test, test_index, k, test_scores, prior = load_inputs(cfg)
    n = len(train)
    true_labels = train.labels.cpu()
    labels, corrupted = corrupt_labels(true_labels, k, train.num_classes, cfg.seed, cfg.allow_true_label)
    device = torch.device(cfg.device)
    model = turnover_network(
        cfg.model,
        train.channels,
        train.images.shape[-1],
        train.num_classes,
        hidden=cfg.hidden,
        width=cfg.width,
    ).to(device)
    bank = MaskBank(model.masked_units, n, seed=cfg.seed)
    log(
        f"pool: {n} training examples ({int(corrupted.sum())} corrupted), {len(test)} test; "
        f"masks: {bank.n_redrawn} redrawn to keep them distinct"
    )

    if cfg.scores_from:
        easy, difficult = split_by_score(prior, cfg.subset_fraction)
        subsets = f"lowest / highest {cfg.subset_fraction:.4g} of the scores in {cfg.scores_from}"
    elif k > 0:
        easy, difficult = ~corrupted, corrupted
        subsets = "easy = clean labels, difficult = corrupted (random) labels"
    else:
        easy = difficult = None
        subsets = "none (no corruption and no --scores-from)"
    groups = {} if easy is None else {"easy": easy, "difficult": difficult}
    trained = {
        "all": torch.ones(n, dtype=torch.bool),
        "easy": easy,
        "difficult": difficult,
        "not-difficult": None if difficult is None else ~difficult,
    }[cfg.train_subset]

    rec = train_turnover(
        model,
        bank,
        train.images,
        labels,
        train.mean,
        train.std,
        cfg,
        train_mask=trained,
        groups=groups,
        test=(test.images, test.labels),
        on_step=on_step,
        on_epoch=on_epoch,
    )
    ev = rec.final
    score = ev.score

    # influence of every training example on the first few test examples (eq. 5)
    t = min(cfg.influence_targets, len(test))
    infl = (
        influence(model, bank, test.images[:t], test.labels[:t], train.mean, train.std)
        if t
        else torch.zeros(n, 0)
    )

    # appendix C: per class, the `show` lowest and highest scores among trained examples
    show_idx, show_kind = [], []
    for c in range(train.num_classes):
        members = torch.nonzero((labels == c) & trained).flatten()
        if len(members) == 0:
            continue
        order = members[torch.argsort(score[members], stable=True)]
        k = min(cfg.show, len(order))
        show_idx += order[:k].tolist() + order[len(order) - k :].tolist()
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
        "dataset_index": var(
            ex, train_index.numpy(), f"index of the example in the data set's {cfg.split} split"
        ),
        "label": var(ex, labels.numpy(), "training label (after corruption)"),
        "true_label": var(ex, true_labels.numpy(), "original label"),
        "corrupted": var(
            ex, corrupted.numpy().astype(np.int8), "label replaced by a random one (1) or not (0)"
        ),
        "trained": var(ex, tr.astype(np.int8), "example was trained on (1) or only evaluated (0)"),
        "score": var(
            ex, score.numpy(), "memorization score (self-influence): loss(muted) - loss(seen)", "nats"
        ),
        "loss_seen": var(ex, ev.loss_seen.numpy(), "cross-entropy of the example's seen sub-network", "nats"),
        "loss_muted": var(
            ex, ev.loss_muted.numpy(), "cross-entropy of the example's muted sub-network", "nats"
        ),
        "pred_seen": var(ex, ev.pred_seen.numpy(), "class predicted by the seen sub-network"),
        "pred_muted": var(ex, ev.pred_muted.numpy(), "class predicted by the muted sub-network"),
        "correct_seen": var(("epoch", "example"), cs, "seen sub-network predicts the training label"),
        "correct_muted": var(("epoch", "example"), cm, "muted sub-network predicts the training label"),
        "accuracy_seen": var(("epoch",), cs[:, tr].mean(1), "training accuracy of the seen sub-networks"),
        "accuracy_muted": var(("epoch",), cm[:, tr].mean(1), "training accuracy of the muted sub-networks"),
        "train_loss": var(("epoch",), np.array(rec.train_loss), "mean training loss over the epoch", "nats"),
        "test_accuracy": var(
            ("epoch",), np.array(rec.test_accuracy), "test accuracy of the full network (no mask)"
        ),
        "influence": var(
            ("example", "target"),
            infl.numpy(),
            "influence of the training example on the target: loss(muted) - loss(seen)",
            "nats",
        ),
        "target_index": var(("target",), test_index[:t].numpy(), "index of the target in the test split"),
        "target_label": var(("target",), test.labels[:t].cpu().numpy(), "label of the target"),
        "showcase_example": var(("showcase",), show_idx_t.numpy(), "example shown in the appendix-C grid"),
        "showcase_kind": var(
            ("showcase",),
            np.array(show_kind, dtype=np.int8),
            "0: among the lowest scores of its class, 1: among the highest",
        ),
        "showcase_image": var(
            ("showcase", "channel", "row", "col"),
            train.images[show_idx_t].cpu().numpy()
            if show_idx
            else np.zeros((0, *train.images.shape[1:]), np.uint8),
            "pixel value",
            "uint8 intensity",
        ),
    }
    if easy is not None:
        data_vars["in_easy"] = var(ex, easy.numpy().astype(np.int8), "member of the easy subset")
        data_vars["in_difficult"] = var(
            ex, difficult.numpy().astype(np.int8), "member of the difficult subset"
        )
    if rec.grad_step:
        gs = ("grad_step",)
        data_vars["grad_epoch"] = var(
            gs, np.array(rec.grad_epoch), "training progress when measured", "epochs"
        )
        for k in groups:
            data_vars[f"cosine_{k}"] = var(
                gs,
                np.array(rec.cosine[k]),
                f"mean pairwise cosine of per-example gradients within the {k} subset (eq. 3)",
            )
        for k in [*groups, "all"]:
            data_vars[f"contribution_{k}"] = var(
                gs,
                np.array(rec.contribution[k]),
                f"mean contribution (v_i . g)/||g|| of {k} examples of the batch (eq. 4)",
                "gradient norm",
            )
    te = ("test_example",)
    data_vars["test_dataset_index"] = var(
        te,
        test_index.numpy(),
        f"index of the test example in the data set's {'test' if cfg.split == 'train' else 'training'} split",
    )
    data_vars["test_label"] = var(te, test.labels.cpu().numpy(), "label of the test example")
    data_vars["test_correct"] = var(
        ("epoch", "test_example"),
        torch.stack(rec.test_correct).numpy().astype(np.int8),
        "full network predicts the test example's label",
    )
    if test_scores is not None:
        test_easy, test_difficult = split_by_score(test_scores, cfg.subset_fraction)
        data_vars["test_score"] = var(
            te,
            test_scores.numpy(),
            f"memorization score of the test example in {cfg.test_scores_from}",
            "nats",
        )
        data_vars["in_test_easy"] = var(
            te, test_easy.numpy().astype(np.int8), "member of the easy test subset"
        )
        data_vars["in_test_difficult"] = var(
            te, test_difficult.numpy().astype(np.int8), "member of the difficult test subset"
        )
    coords = {
        "example": np.arange(n),
        "test_example": np.arange(len(test)),
        "epoch": epochs,
        "target": np.arange(t),
        "showcase": np.arange(len(show_idx)),
    }
    if rec.grad_step:
        coords["grad_step"] = np.array(rec.grad_step)
    ds = xr.Dataset(data_vars, coords=coords)
    ds["epoch"].attrs = {"long_name": "epoch (0: initialisation)", "units": "epochs"}
    ds["example"].attrs = {"long_name": "example of the training pool", "units": "1"}
    ds["test_example"].attrs = {"long_name": "example of the test pool", "units": "1"}
    ds["target"].attrs = {"long_name": "target example of the test pool", "units": "1"}
    ds["showcase"].attrs = {"long_name": "shown example", "units": "1"}
    if "grad_step" in ds.coords:
        ds["grad_step"].attrs = {"long_name": "optimizer step", "units": "steps"}
    test_subsets = (
        f"lowest / highest {cfg.subset_fraction:.4g} of the scores in {cfg.test_scores_from}"
        if test_scores is not None
        else "none (no --test-scores-from)"
    )
    ds.attrs.update(
        {
            "dataset": train.name,
            "split": cfg.split,
            "num_classes": train.num_classes,
            "subsets": subsets,
            "test_subsets": test_subsets,
            "keep_scale": KEEP_SCALE,
            "masks_redrawn": bank.n_redrawn,
            "wall_time_s": round(time.time() - t0, 1),
        }
    )
    return ds


def config_dict(cfg: RunConfig) -> dict:
    return asdict(cfg)
