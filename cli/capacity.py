"""`benign capacity`: the capacity C_t of a network (appendix D.1): the largest n whose random labels
it fits completely within --steps steps at B = 1, bracketed over --labellings random labellings of
the same n images (doubling from --n-start, then bisection). Writes an xarray Dataset (netCDF)."""

from __future__ import annotations

from pathlib import Path

import typer

from benign.cli import train_options as O
from benign.cli.errors import BadInput
from benign.cli.options import in_out_folder
from benign.empirical.network_capacity import CapacitySearch as S
from benign.empirical.training import TrainConfig as T


def capacity(
    dataset: str = O.DATASET,
    data_root: str | None = O.DATA_ROOT,
    download: bool = O.DOWNLOAD,
    subset_seed: int = typer.Option(T.subset_seed, help="seed of the class-balanced choice of the n images"),
    arch: str = O.ARCH,
    stem: str = O.STEM,
    projector_width: int = O.PROJECTOR_WIDTH,
    cnn_width: int = O.CNN_WIDTH,
    augment: str = typer.Option(
        T.augment, help="augmentation of the one fixed view per image (B = 1); none: the clean image"
    ),
    loss: str = O.LOSS,
    lr: float = typer.Option(T.lr, help="Adam learning rate"),
    batch_size: int = O.BATCH_SIZE,
    init: str = O.INIT,
    precision: str = O.PRECISION,
    steps: int = typer.Option(S.steps, help="the budget t in optimizer steps"),
    labellings: int = typer.Option(S.R, "--labellings", "-R", help="random labellings tried per n (R)"),
    n_start: int = typer.Option(S.n_start, help="first n of the doubling"),
    n_max: int = typer.Option(S.n_max, help="largest n tried"),
    resolution: float = typer.Option(
        S.resolution, help="stop bisecting when upper - lower <= resolution * lower"
    ),
    check_every: int = typer.Option(S.check_every, help="steps between memorisation checks (0: steps // 20)"),
    seed: int = typer.Option(T.seed, help="seed of the model initialisation (and of the fixed views)"),
    device: str = O.DEVICE,
    out: Path = typer.Option(Path("results/capacity"), help="folder to write capacity.nc in"),
):
    """Bracket the capacity C_t of a network; prints the bracket and the success rate per n."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from benign import api
    from benign.store.netcdf import save_atomic

    in_out_folder(out, "capacity.nc")  # a bad --out: one line, before the search
    if steps < 1:
        raise BadInput(f"--steps must be at least 1, got {steps}")
    if labellings < 1:
        raise BadInput(f"--labellings must be at least 1, got {labellings}")
    if resolution < 0 or check_every < 0:
        raise BadInput("--resolution and --check-every cannot be negative")
    options = dict(
        data_root=data_root,
        download=download,
        subset_seed=subset_seed,
        stem=stem,
        projector_width=projector_width,
        cnn_width=cnn_width,
        augment=augment,
        loss=loss,
        lr=lr,
        batch_size=batch_size,
        init=init,
        precision=precision,
        seed=seed,
        device=device,
    )
    search = dict(steps=steps, labellings=labellings, n_start=n_start, n_max=n_max)
    api.check_capacity(arch, dataset, **search, **options)  # bad input: one line, before the progress bar
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
    ) as bar:  # fmt: skip
        tasks = {}

        def on_step(n, step, total):
            if n not in tasks:
                tasks[n] = bar.add_task(f"n = {n}, {labellings} labellings", total=total)
            bar.update(tasks[n], completed=step)

        def on_trial(n, fitted):
            bar.console.print(f"n = {n}: {int(fitted.sum())} of {len(fitted)} labellings fitted")

        ds = api.capacity(
            arch,
            dataset,
            **search,
            resolution=resolution,
            check_every=check_every,
            on_step=on_step,
            on_trial=on_trial,
            **options,
        )
    path = save_atomic(ds, in_out_folder(out, "capacity.nc"))
    upper = float(ds["capacity_upper"])
    upper = "none failed" if upper != upper else str(int(upper))
    lower = int(ds["capacity_lower"])
    typer.echo(f"C_t at t = {steps} steps, R = {labellings}: lower {lower}, upper {upper}")
    for n, rate in zip(ds["n"].values, ds["success_rate"].values):
        typer.echo(f"  n = {n}: {rate:.2f} of the labellings fitted")
    typer.echo(f"written: {path}")
