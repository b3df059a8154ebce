"""`benign profiles`: memorization profiles of SimCLR, supervised and random-label training
(companion paper 2)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from cli.errors import BadInput

app = typer.Typer(help="Memorization profiles: N networks x M augmentations, compared with binomial noise "
                       "(companion paper 2).", no_args_is_help=True)

# small: Fashion-MNIST on one CPU core in minutes (Adam for every mode, lr 1e-3: SGD at the paper's
# 3e-4 barely moves in a few epochs). paper: section 3 (ResNet-18, CIFAR-10, N = 30, M = 10, K = 1000,
# batch 256, lr 3e-4, wd 1e-4, Adam for SimCLR, SGD momentum 0.9 otherwise; the epoch budget is not
# stated in the paper: 100 here).
PRESETS = {
    "small": dict(dataset="fashion-mnist", networks=4, augmentations=4, epochs=8, examples=500, train_size=2000,
                  arch="small_cnn", cnn_width=16, projector_width=256, batch_size=128, lr=1e-3, simclr_lr=1e-3,
                  optimizer="adam", simclr_optimizer="adam"),
    "paper": dict(dataset="cifar10", networks=30, augmentations=10, epochs=100, examples=1000, train_size=0,
                  arch="resnet18", cnn_width=32, projector_width=512, batch_size=256, lr=3e-4, simclr_lr=3e-4,
                  optimizer="sgd", simclr_optimizer="adam"),
}


def _device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise BadInput(f"--device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise BadInput("--device cuda: no CUDA device is available")
    return device


@app.command("run")
def run_cmd(
    out: Path = typer.Option(..., "--out", help="result file (.nc); an existing one with the same settings resumes"),
    scale: str = typer.Option("small", help="preset: small (Fashion-MNIST, one CPU core, minutes) or paper"),
    methods: str = typer.Option("supervised,random,random_aug,simclr", help="comma-separated training modes"),
    networks: Optional[int] = typer.Option(None, help="N: networks (seeds) per method"),
    augmentations: Optional[int] = typer.Option(None, help="M: fixed augmentations per profiled image"),
    epochs: Optional[int] = typer.Option(None),
    examples: Optional[int] = typer.Option(None, help="K: profiled training images (class-balanced)"),
    train_size: Optional[int] = typer.Option(None, help="training images, class-balanced (0: whole split)"),
    dataset: Optional[str] = typer.Option(None, help="fashion-mnist, cifar10, ... or synthetic (tests)"),
    data_root: Optional[Path] = typer.Option(None, help="data folder (default: $BENIGN_DATA_ROOT or data/)"),
    arch: Optional[str] = typer.Option(None, help="small_cnn, resnet18 or vgg11"),
    cnn_width: Optional[int] = typer.Option(None, help="small_cnn channel width"),
    projector_width: Optional[int] = typer.Option(None, help="hidden width of the head"),
    batch_size: Optional[int] = typer.Option(None, help="B (also the SimCLR candidate batch at recognition)"),
    lr: Optional[float] = typer.Option(None, help="learning rate of the supervised / random-label modes"),
    simclr_lr: Optional[float] = typer.Option(None, help="learning rate of SimCLR"),
    seed: int = typer.Option(0, help="network n gets seed + n"),
    data_seed: int = typer.Option(0, help="subsets, random labels and the augmentation bank"),
    actmax_channels: int = typer.Option(4, help="channels per block for activation maximisation (0: none)"),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
):
    """Train N networks per method and record which (network, augmentation) pairs recognise each of K images."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from empirical.profiles.run import ProfileConfig, run, steps_per_network
    from empirical.profiles.modes import parse_modes
    from empirical.profiles.summary import format_table, mae_table

    if scale not in PRESETS:
        raise BadInput(f"--scale must be small or paper, got {scale!r}")
    if out.exists() and out.is_dir():
        raise BadInput(f"--out {out} is a directory")
    p = dict(PRESETS[scale])
    given = dict(networks=networks, augmentations=augmentations, epochs=epochs, examples=examples,
                 train_size=train_size, dataset=dataset, arch=arch, cnn_width=cnn_width,
                 projector_width=projector_width, batch_size=batch_size, lr=lr, simclr_lr=simclr_lr)
    p.update({k: v for k, v in given.items() if v is not None})
    modes = parse_modes(methods)
    cfg = ProfileConfig(methods=[m.name for m in modes], data_root=str(data_root) if data_root else None, seed=seed,
                        data_seed=data_seed, actmax_channels=actmax_channels, device=_device(device), **p)
    cfg.validate()
    t0 = time.time()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn()) as progress:
        task = progress.add_task("preparing", total=None)

        def on_network(mode, s):
            progress.update(task, description=f"{mode.name} seed {s}")

        def log(msg):
            progress.console.print(msg)

        n_train = cfg.train_size if cfg.train_size else None
        if n_train:
            progress.update(task, total=len(modes) * cfg.networks * steps_per_network(cfg, n_train), completed=0)
        ds = run(cfg, out, on_step=lambda: progress.advance(task), on_network=on_network, log=log)
    typer.echo(format_table(mae_table(ds)))
    typer.echo(f"wrote {out} ({time.time() - t0:.0f} s)")


@app.command("plot")
def plot_cmd(
    result: Path = typer.Argument(..., help="a `profiles run` result file"),
    out: Path = typer.Option(..., "--out", help="folder for the PNG files and mae_table.txt"),
):
    """Figures 1-4, the t-SNE map and activation-maximisation images; the MAE table as text."""
    from empirical.profiles.plots import plot_all
    from empirical.profiles.run import TITLE
    from empirical.profiles.summary import format_table, mae_table
    from grids.netcdf import load_result

    ds = load_result(result, require_title=TITLE, require_vars=("recognised", "status"))
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} exists and is not a folder")
    paths = plot_all(ds, out)
    table = out / "mae_table.txt"
    table.write_text(format_table(mae_table(ds)) + "\n")
    for path in [*paths, table]:
        typer.echo(str(path))
