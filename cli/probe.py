"""`benign probe CHECKPOINT`: layer-wise k-NN (clean and noisy), linear probes and invariance,
trained vs initialisation, into one netCDF (dimension `layer`)."""

from __future__ import annotations

from pathlib import Path

import typer

from benign.theory.devices import DEVICE_HELP


def probe(
    checkpoint: Path = typer.Argument(..., help="a checkpoint.pt written by `benign train` (or its folder)"),
    out: Path | None = typer.Option(None, help="folder to write probe.nc in (default: the run's folder)"),
    knn_k: int = typer.Option(20, help="neighbours of the k-NN probes"),
    linear: bool = typer.Option(True, help="also fit linear probes (--no-linear: no linear columns)"),
    knn: bool = typer.Option(True, help="k-NN probes (--no-knn: none, the costly part on large maps)"),
    device: str = typer.Option("auto", help=DEVICE_HELP),
    data_root: str | None = typer.Option(None, help="data folder, if not the one the run used"),
    invariance_images: int = typer.Option(256, help="training images for the invariance estimate"),
    reference: str | None = typer.Option(
        None, help="k-NN reference: full (whole clean training split) or subset (default: the run's)"
    ),
    pool: str | None = typer.Option(None, help="layer maps flatten(ed) or avg(-pooled) (default: the run's)"),
):
    """Probe every named representation of a trained network and of the same network at initialisation:
    k-NN (clean and training labels), linear, invariance and UnitMem."""
    from benign import api
    from benign.cli.options import in_out_folder
    from benign.store.netcdf import save_atomic

    folder = checkpoint if checkpoint.is_dir() else checkpoint.parent
    target = in_out_folder(out or folder, "probe.nc")

    ds = api.probe(
        checkpoint,
        device=device,
        knn_k=knn_k,
        linear=linear,
        data_root=data_root,
        invariance_images=invariance_images,
        reference=reference,
        pool=pool,
        knn=knn,
    )
    path = save_atomic(ds, target)
    columns = {
        **(
            {"knn_clean": "k-NN clean", "knn_clean_init": "k-NN clean (init)", "knn_noisy": "k-NN noisy"}
            if knn
            else {}
        ),
        **({"linear": "linear", "linear_init": "linear (init)"} if linear else {}),
        "invariance": "invariance",
        "unit_mem": "UnitMem",
        "unit_mem_init": "UnitMem (init)",
    }
    typer.echo("| layer | " + " | ".join(columns.values()) + " |")
    typer.echo("| --- " * (len(columns) + 1) + "|")
    for i, name in enumerate(ds["layer_name"].values):
        cells = ("–" if ds[v].values[i] != ds[v].values[i] else f"{ds[v].values[i]:.3f}" for v in columns)
        typer.echo(f"| {name} | " + " | ".join(cells) + " |")  # –: not defined (UnitMem of the output)
    typer.echo(f"written: {path}")
