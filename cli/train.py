"""`benign train`: train an encoder-projector on (random) labels under augmentation; resumes by itself.

Option precedence: --preset, then --config FILE.toml (keys named like the options, with
underscores), then options given on the command line. `--preset table2-small` runs the five
settings of table 2 on Fashion-MNIST and prints a Markdown table.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import tomllib
import typer
import xarray as xr
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cli.errors import BadInput


def _progress():
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        transient=False,
    )


def run_with_progress(cfg, resume: bool, label: str = "train", stop_at_step=None):
    """Train with a rich progress bar, shown from the first step on (errors before it stay one line)."""
    from empirical.training import train as train_run

    state = {}

    def update(step, total, m):
        if "bar" not in state:
            state["bar"] = _progress()
            state["bar"].start()
            state["task"] = state["bar"].add_task(label, total=total, info="")
        knn = m.get("knn_accuracy")
        info = f"loss {m.get('train_loss', float('nan')):.4f}  train acc {m.get('train_accuracy', float('nan')):.3f}"
        info += f"  k-NN {knn:.3f}" if knn is not None else ""
        state["bar"].update(state["task"], completed=step, total=total, info=info)

    try:
        return train_run(cfg, resume=resume, progress=update, stop_at_step=stop_at_step)
    finally:
        if "bar" in state:
            state["bar"].stop()


def _config(ctx: typer.Context, preset: str | None, config: Path | None, given: dict):
    from empirical.presets import preset as get_preset
    from empirical.training import TrainConfig

    cfg = get_preset(preset) if preset else TrainConfig()
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    if config is not None:
        if not config.is_file():
            raise BadInput(f"no such config file: {config}")
        try:
            table = tomllib.loads(config.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise BadInput(f"{config} is not valid TOML: {str(e).splitlines()[0]}") from None
        table = {k.replace("-", "_"): v for k, v in table.items()}
        unknown = sorted(set(table) - fields)
        if unknown:
            raise BadInput(f"{config}: unknown keys {', '.join(unknown)}")
        cfg = dataclasses.replace(cfg, **table)
    explicit = {
        k: v
        for k, v in given.items()
        if getattr(ctx.get_parameter_source(k), "name", "") in ("COMMANDLINE", "ENVIRONMENT")
    }
    cfg = dataclasses.replace(cfg, **explicit)
    try:
        cfg.validate()
    except ValueError as e:
        raise BadInput(str(e)) from None
    return cfg


def train(
    ctx: typer.Context,
    preset: str | None = typer.Option(
        None, help="table2-small (CPU), or <cifar10|cifar100|tinyimagenet>-<resnet18|vgg11>"
    ),
    config: Path | None = typer.Option(None, "--config", help="TOML file of options"),
    dataset: str = typer.Option(
        "fashion-mnist", help="cifar10, cifar100, tinyimagenet, stl10, mnist, fashion-mnist"
    ),
    data_root: str | None = typer.Option(None, help="data folder (default: data/)"),
    download: bool = typer.Option(False, help="download the dataset when absent"),
    subset: int = typer.Option(0, help="class-balanced training subset size (0: all)"),
    subset_seed: int = typer.Option(0),
    test_subset: int = typer.Option(0, help="class-balanced test subset for the k-NN probe (0: all)"),
    arch: str = typer.Option("small_cnn", help="resnet18, vgg11, small_cnn"),
    stem: str = typer.Option("auto", help="cifar, stride2, auto (stride2 for 64x64)"),
    projector_width: int = typer.Option(65536, help="hidden width of the projector MLP"),
    cnn_width: int = typer.Option(32, help="channels of small_cnn's first stage"),
    labels: str = typer.Option("random", help="clean, random, noise:<f>, classes:<C'>, per-sample"),
    label_seed: int = typer.Option(0),
    augment: str = typer.Option("simclr", help="none, simclr, randaugment:<0..30>, simclr+randaugment:<l>"),
    mixup: str = typer.Option("off", help="off, xy (paper), x (authors' code)"),
    mixup_alpha: float = typer.Option(1.0),
    bank: int = typer.Option(0, help="B fixed augmentations per image (0: fresh draws)"),
    bank_labels: str = typer.Option("image", help="image or random labels per bank augmentation"),
    iid: int = typer.Option(0, help="B i.i.d. same-class images as augmentations (table 3; needs --subset)"),
    loss: str = typer.Option("mse", help="mse or ce"),
    lr: float = typer.Option(3e-4, help="Adam learning rate (the paper's table says 4e-3, its code 3e-4)"),
    batch_size: int = typer.Option(256),
    epochs: int = typer.Option(1),
    steps: int = typer.Option(0, help="budget in steps instead of epochs (> 0)"),
    seed: int = typer.Option(0),
    device: str = typer.Option("auto", help="auto, cpu, cuda"),
    compile: bool = typer.Option(False, help="torch.compile the model"),
    eval_every: int = typer.Option(1, help="epochs between probes of the learning curve (0: at the end)"),
    checkpoint_every: int = typer.Option(1, help="epochs between checkpoints"),
    knn_k: int = typer.Option(20),
    probe_reference: str = typer.Option(
        "full", help="k-NN reference: full (whole clean training split, the authors') or subset"
    ),
    probe_pool: str = typer.Option("flatten", help="layer probes on flatten(ed) or avg(-pooled) maps"),
    init: str = typer.Option("authors", help="conv init: authors (kaiming normal, fan_out) or pytorch"),
    out: str = typer.Option("results/train", help="run folder: checkpoint.pt and history.nc"),
    resume: bool = typer.Option(True, help="continue the checkpoint in --out when there is one"),
):
    """Train on (random) labels; writes OUT/checkpoint.pt and OUT/history.nc (dimension epoch)."""
    given = {k: v for k, v in locals().items() if k not in ("ctx", "preset", "config", "resume")}
    cfg = _config(ctx, preset, config, given)
    if preset == "table2-small":
        run_table2(cfg, resume)
        return
    result = run_with_progress(cfg, resume)
    last = result["history"][-1]
    typer.echo(
        f"done: {result['step']} steps, train acc {last['train_accuracy']:.3f}, "
        f"k-NN {last['knn_accuracy']:.3f}; {Path(cfg.out) / 'history.nc'}"
    )


def run_table2(base, resume: bool = True):
    """Table 2 at small scale: four trainings + initialisation -> OUT/table2.nc and a Markdown table."""
    from empirical.presets import TABLE2_SETTINGS, table2_runs
    from store.netcdf import save_atomic
    from store.provenance import provenance_attrs

    t0 = time.perf_counter()
    knn, train_acc, walls = [], [], []
    init = None
    for name, cfg in table2_runs(base).items():
        r = run_with_progress(cfg, resume, label=name)
        hist = r["history"]
        init = hist[0]
        knn.append(hist[-1]["knn_accuracy"])
        train_acc.append(hist[-1]["train_accuracy"])
        walls.append(hist[-1]["wall_time"])
    knn.append(init["knn_accuracy"])
    train_acc.append(init["train_accuracy"])
    walls.append(0.0)
    total = time.perf_counter() - t0
    ds = xr.Dataset(
        {
            "knn_accuracy": (("setting", "seed"), np.array(knn)[:, None]),
            "train_accuracy": (("setting", "seed"), np.array(train_acc)[:, None]),
            "train_time": (("setting", "seed"), np.array(walls)[:, None]),
        },
        coords={
            "setting": np.arange(5),
            "seed": [base.seed],
            "setting_name": ("setting", np.array(TABLE2_SETTINGS, dtype=object)),
        },
    )
    ds["knn_accuracy"].attrs = {
        "long_name": f"{base.knn_k}-NN probe of the embedding on the clean test set",
        "units": "1",
    }
    ds["train_accuracy"].attrs = {"long_name": "accuracy on the training labels (clean images)", "units": "1"}
    ds["train_time"].attrs = {"long_name": "training wall time (steps only)", "units": "s"}
    ds["setting"].attrs = {"long_name": "table 2 setting (see setting_name)", "units": "1"}
    ds["seed"].attrs = {"long_name": "seed of the model and labels", "units": "1"}
    ds.attrs = provenance_attrs("table 2 small", dataclasses.asdict(base))
    path = save_atomic(ds, Path(base.out) / "table2.nc")
    typer.echo(
        f"\n{base.dataset}, {base.subset or 'all'} training images, {base.arch}, {base.epochs} epochs, "
        f"wall time {total:.0f} s ({path})\n"
    )
    typer.echo("| setting | k-NN accuracy (%) | training accuracy (%) |\n| --- | --- | --- |")
    for name, k, a in zip(TABLE2_SETTINGS, knn, train_acc):
        typer.echo(f"| {name} | {100 * k:.1f} | {100 * a:.1f} |")
