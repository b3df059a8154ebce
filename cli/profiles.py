"""`benign profiles`: memorization profiles of SimCLR, supervised and random-label training
(companion paper 2)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from benign.cli.options import in_out_folder
from benign.empirical.profiles.run import ProfileConfig as P
from benign.grids.presets.profiles import PRESETS
from benign.theory.devices import DEVICE_HELP, resolve_device

app = typer.Typer(
    help="Memorization profiles: N networks x M augmentations, compared with binomial noise "
    "(companion paper 2).",
    no_args_is_help=True,
)


@app.command("run")
def run_cmd(
    out: Path = typer.Option(
        ..., "--out", help="folder to write profiles.nc in; one with the same settings resumes"
    ),
    scale: str = typer.Option(
        "small",
        help="preset: small (Fashion-MNIST, one CPU core, minutes), cpu (Fashion-MNIST, "
        "2 cores, an hour: --workers 2 --max-batch 2) or full (the paper's)",
    ),
    methods: str = typer.Option(",".join(P().methods), help="comma-separated training modes"),
    networks: int | None = typer.Option(None, help="N: networks (seeds) per method"),
    augmentations: int | None = typer.Option(None, help="M: fixed augmentations per profiled image"),
    epochs: int | None = typer.Option(None, help="training epochs (default: the preset's)"),
    examples: int | None = typer.Option(None, help="K: profiled training images (class-balanced)"),
    train_size: int | None = typer.Option(None, help="training images, class-balanced (0: whole split)"),
    dataset: str | None = typer.Option(None, help="fashion-mnist, cifar10, ... or synthetic (tests)"),
    data_root: Path | None = typer.Option(None, help="data folder (default: $BENIGN_DATA_ROOT or data/)"),
    arch: str | None = typer.Option(None, help="small_cnn, resnet18 or vgg11"),
    cnn_width: int | None = typer.Option(None, help="small_cnn channel width"),
    projector_width: int | None = typer.Option(None, help="hidden width of the head"),
    batch_size: int | None = typer.Option(None, help="B (also the SimCLR candidate batch at recognition)"),
    lr: float | None = typer.Option(None, help="learning rate of the supervised / random-label modes"),
    simclr_lr: float | None = typer.Option(None, help="learning rate of SimCLR"),
    seed: int = typer.Option(P.seed, help="network n gets seed + n"),
    data_seed: int = typer.Option(P.data_seed, help="subsets, random labels and the augmentation bank"),
    actmax_channels: int = typer.Option(
        P.actmax_channels, help="channels per block for activation maximisation (0: none)"
    ),
    device: str = typer.Option("auto", help=DEVICE_HELP),
    max_batch: int = typer.Option(
        P.max_batch,
        "--max-batch",
        help="at most this many networks of a method train as one batch (memory); "
        "0: all N, 1: one network at a time",
    ),
    recognition: str = typer.Option(
        P.recognition,
        help="SimCLR recognition: both (view 1 -> 2 and 2 -> 1, the authors' scoring) or one (1 -> 2)",
    ),
    workers: int | None = typer.Option(None, "--workers", help="run the tasks on N local worker processes"),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="run the tasks on a Dask scheduler, tcp://HOST:PORT"
    ),
    dask_local: int | None = typer.Option(
        None, "--dask-local", help="run the tasks on a Dask LocalCluster of N workers"
    ),
):
    """Train N networks per method and record which (network, augmentation) pairs recognise each of K images.

    A front end over the grid engine: a (method, seed) cell per network, up to --max-batch networks
    of a method trained as one batch per task; OUT holds the grid (grid.nc, cells/) and the
    collected OUT/profiles.nc. Without --workers, --scheduler or --dask-local the tasks run in this
    process, one after the other; rerunning the same command resumes."""
    import os

    from benign import api
    from benign.cli.progress import new_bar
    from benign.empirical.profiles.modes import parse_modes
    from benign.empirical.profiles.run import steps_per_network
    from benign.empirical.profiles.summary import format_alignment, format_table, mae_table
    from benign.grids import profiles_cells
    from benign.grids import spec as grid_spec
    from benign.store.netcdf import save_atomic
    from benign.store.provenance import command_line

    if scale not in PRESETS:
        raise ValueError(f"--scale must be one of {', '.join(PRESETS)}, got {scale!r}")
    if workers is not None and workers < 1:
        raise ValueError("--workers must be at least 1")
    path = in_out_folder(out, "profiles.nc")
    p = dict(PRESETS[scale])
    given = dict(
        networks=networks,
        augmentations=augmentations,
        epochs=epochs,
        examples=examples,
        train_size=train_size,
        dataset=dataset,
        arch=arch,
        cnn_width=cnn_width,
        projector_width=projector_width,
        batch_size=batch_size,
        lr=lr,
        simclr_lr=simclr_lr,
    )
    p.update({k: v for k, v in given.items() if v is not None})
    modes = parse_modes(methods)
    n = p.pop("networks")
    if n < 1:
        raise ValueError("--networks must be >= 1")
    raw = {
        "kind": "profiles",
        **p,
        "method": [m.name for m in modes],
        "data_seed": data_seed,
        "actmax_channels": actmax_channels,
        "device": str(resolve_device(device)),
        "block": max_batch,
        "recognition": recognition,
        "seeds": list(range(seed, seed + n)),
    }
    spec = grid_spec.from_dict(raw, name="profiles")
    if data_root is not None:  # the engine's cells read the data folder from the environment
        os.environ["BENIGN_DATA_ROOT"] = str(data_root)
    distributed = any(x is not None for x in (workers, scheduler, dask_local))
    per_network = steps_per_network(
        profiles_cells.profile_config(spec.params, list(spec.seeds)), p["train_size"]
    )
    t0 = time.time()
    with new_bar(eta=False) as progress:
        bar = []  # the bar appears once the executor runs (a refused scheduler is one line)

        def on_start(todo, size, where):
            total = todo * per_network if p["train_size"] else None
            bar.append(progress.add_task(f"network steps ({where})", total=total))

        def on_batch(cells):
            if distributed and p["train_size"]:
                progress.advance(bar[0], cells * per_network)

        def run_block(task):  # a task here, with the step bar and a line per network
            results = profiles_cells.run_block(
                task.params, list(task.cells), task.folder, on_step=lambda k: progress.advance(bar[0], k)
            )
            for cell, r in zip(task.cells, results):
                progress.console.print(
                    f"{task.params['method']} seed {cell['seed']}: final loss {float(r['train_loss'][-1]):.3f}"
                )
            return results

        try:
            ds = api.grid(
                spec,
                out,
                workers=workers if distributed else 0,
                scheduler=scheduler,
                dask_local=dask_local,
                on_start=on_start,
                on_batch=on_batch,
                command=command_line(),
                task_runner=None if distributed else run_block,
            )
        except (api.MissingData, api.GridFailed) as e:
            progress.stop()
            for line in e.failed if isinstance(e, api.GridFailed) else [str(e)]:
                typer.echo(f"error: {line}", err=True)
            raise typer.Exit(1) from None
    save_atomic(ds, path)
    rows = mae_table(ds)
    typer.echo(format_table(rows))
    typer.echo(format_alignment(rows))
    typer.echo(f"wrote {path} ({time.time() - t0:.0f} s)")


@app.command("plot")
def plot_cmd(
    result: Path = typer.Argument(..., help="a `profiles run` result file"),
    out: Path = typer.Option(..., "--out", help="folder for the PNG files and mae_table.txt"),
):
    """Figures 1-4, the t-SNE map and activation-maximisation images; the MAE table as text."""
    from benign.empirical.profiles.plots import plot_all
    from benign.empirical.profiles.run import TITLE
    from benign.empirical.profiles.summary import format_alignment, format_table, mae_table
    from benign.store.netcdf import load_result

    ds = load_result(result, require_title=TITLE, require_vars=("recognised", "status"))
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    paths = plot_all(ds, out)
    table = out / "mae_table.txt"
    rows = mae_table(ds)
    table.write_text(format_table(rows) + "\n\n" + format_alignment(rows) + "\n")
    for path in [*paths, table]:
        typer.echo(str(path))


@app.command("calibrate")
def calibrate_cmd(
    networks: int = typer.Option(30, help="N: networks (the paper's 30)"),
    augmentations: int = typer.Option(10, help="M: augmentations per image (the paper's 10)"),
    examples: int = typer.Option(1000, help="K: images per profile (the paper's 1000)"),
    replicates: int = typer.Option(200, help="profiles of independent coins to compare"),
    p: float = typer.Option(0.5, help="the coins' probability of recognition"),
    seed: int = typer.Option(0, help="seed of the coins and of the binomial draws"),
    out: Path | None = typer.Option(None, "--out", help="also write the statistics to FOLDER/calibration.nc"),
):
    """Calibrate the binomial comparison on the null: every (network, augmentation) pair an
    independent coin. A comparison that holds under the null gives MAE at its floor and uniform
    chi-square p-values; the paper's trials = N does not once M > 1, trials = N*M does."""
    import numpy as np
    import xarray as xr
    from scipy import stats

    from benign.empirical.profiles.binomial import calibration
    from benign.store.netcdf import save_atomic
    from benign.store.provenance import command_line, provenance_attrs

    res = calibration(networks, augmentations, examples, replicates, p, seed=seed)
    typer.echo(
        f"null: {networks} networks x {augmentations} augmentations x {examples} images, "
        f"p = {p}, {replicates} replicates"
    )
    typer.echo(f"{'trials':<8} {'MAE':>8} {'floor':>8} {'MAE/floor':>9} {'KS p (chi2 p uniform)':>22}")
    for rule, label in (("N", "N"), ("NM", "N*M")):
        r = res[rule]
        ks = stats.kstest(r["p_value"], "uniform").pvalue
        typer.echo(
            f"{label:<8} {r['mae'].mean():>8.4f} {r['floor'].mean():>8.4f} "
            f"{r['mae'].mean() / r['floor'].mean():>9.2f} {ks:>22.3g}"
        )
    if out is not None:
        rules = list(res)
        ds = xr.Dataset(
            {
                k: (
                    ("trials", "replicate"),
                    np.stack([res[r][k] for r in rules]),
                    {"long_name": ln, "units": "1"},
                )
                for k, ln in (
                    ("mae", "MAE of sorted profile vs sorted binomial noise"),
                    ("floor", "MAE between two binomial samples (the null value)"),
                    ("p_value", "chi-square p-value against the binomial"),
                )
            },
            coords={"trials": ("trials", rules, {"long_name": "binomial trials: N or N*M"})},
        )
        ds.attrs = provenance_attrs(
            "binomial calibration",
            dict(
                networks=networks,
                augmentations=augmentations,
                examples=examples,
                replicates=replicates,
                p=p,
                seed=seed,
            ),
            command=command_line(),
        )
        path = save_atomic(ds, in_out_folder(out, "calibration.nc"))
        typer.echo(f"wrote {path}")
