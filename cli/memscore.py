"""`benign memscore`: memorization scores by turn-over dropout (companion paper 3)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from benign.cli.options import in_out_folder
from benign.empirical.memscore.experiment import RunConfig as R
from benign.grids.presets.memscore import PRESETS
from benign.theory.devices import DEVICE_HELP, resolve_device

app = typer.Typer(
    help="Memorization scores by turn-over dropout and per-example gradient statistics (companion paper 3).",
    no_args_is_help=True,
)


@app.command("run")
def run_cmd(
    out: Path = typer.Option(..., "--out", help="folder to write memscore.nc in"),
    dataset: str = typer.Option("fashion-mnist", help="fashion-mnist, mnist, cifar10, ... or synthetic"),
    data_root: Path | None = typer.Option(None, help="data folder (default: $BENIGN_DATA_ROOT or data/)"),
    scale: str = typer.Option(
        "small", help="preset: small (CPU, minutes), cpu (2-core CPU, <= an hour) or full (appendix A)"
    ),
    model: str = typer.Option("mlp", help="mlp (one hidden layer) or vgg11 (no batch norm)"),
    n_train: int | None = typer.Option(None, help="training pool size, class-balanced (0: whole split)"),
    n_test: int | None = typer.Option(None, help="test examples (0: whole split)"),
    corrupt: int | None = typer.Option(
        None,
        help="number of training labels replaced by random ones "
        "(default: a quarter of the pool at --scale small, 20000 for the paper's MLP, "
        "0 with --split test)",
    ),
    allow_true_label: bool = typer.Option(
        False, help="a random label may equal the true one (default: never)"
    ),
    epochs: int | None = typer.Option(None, help="training epochs (default: the preset's)"),
    lr: float | None = typer.Option(None, help="SGD learning rate"),
    momentum: float | None = typer.Option(None, help="SGD momentum (default: the preset's)"),
    milestones: str | None = typer.Option(None, help="comma-separated epochs where lr is divided by 10"),
    batch_size: int | None = typer.Option(
        None, help="mini-batch size (preset: 256; 64 for the small VGG-11)"
    ),
    hidden: int | None = typer.Option(None, help="MLP hidden units (even)"),
    width: float | None = typer.Option(None, help="VGG-11 channel multiplier (1.0 = 64..512)"),
    grad_every: int | None = typer.Option(
        None, help="per-example gradient statistics every N steps (0: off)"
    ),
    grad_chunk: int = typer.Option(
        R.grad_chunk, help="examples per vmap chunk (bounds memory; --grad-method vmap)"
    ),
    grad_method: str = typer.Option(
        R.grad_method,
        help="per-example gradient statistics: gram (Gram matrix of the "
        "per-example gradients, fast), vmap (torch.func) or auto (gram if possible)",
    ),
    influence_targets: int | None = typer.Option(None, help="test examples whose influence matrix is stored"),
    show: int = typer.Option(
        R.show, help="lowest/highest-scoring examples per class kept for the image grids"
    ),
    scores_from: Path | None = typer.Option(None, help="earlier result whose scores define easy/difficult"),
    test_scores_from: Path | None = typer.Option(
        None, help="a --split test run whose scores define the easy/difficult test subsets (figure 5 b, d)"
    ),
    split: str = typer.Option(
        R.split,
        help="split the pool is drawn from: train, or test to score the test examples for --test-scores-from",
    ),
    train_subset: str = typer.Option(
        R.train_subset, help="all, easy, difficult or not-difficult (needs --scores-from)"
    ),
    subset_fraction: float = typer.Option(
        R.subset_fraction, help="size of the easy and difficult subsets (share of the pool)"
    ),
    seed: int = typer.Option(R.seed, help="seed of the network, the masks and the corruption"),
    device: str = typer.Option("auto", help=DEVICE_HELP),
):
    """Train with turn-over dropout, then store every example's memorization score (and more) as netCDF.

    A front end over the grid engine: a grid of one cell in OUT (grid.nc, cells/seed=S/run.nc),
    collected to OUT/memscore.nc; rerunning the same command resumes (a finished run is not retrained)."""
    import os

    from benign import api
    from benign.cli.progress import new_bar
    from benign.empirical.memscore.experiment import load_inputs
    from benign.grids import memscore_cells
    from benign.grids import spec as grid_spec
    from benign.store.netcdf import save_atomic
    from benign.store.provenance import command_line

    if (scale, model) not in PRESETS:
        scales = ", ".join(dict.fromkeys(s for s, _ in PRESETS))
        raise ValueError(f"--scale must be one of {scales} and --model mlp or vgg11 (got {scale}, {model})")
    path = in_out_folder(out, "memscore.nc")
    p = dict(PRESETS[(scale, model)])
    given = dict(
        n_train=n_train,
        n_test=n_test,
        corrupt=corrupt,
        epochs=epochs,
        lr=lr,
        momentum=momentum,
        batch_size=batch_size,
        hidden=hidden,
        width=width,
        grad_every=grad_every,
        influence_targets=influence_targets,
    )
    p.update({k: v for k, v in given.items() if v is not None})
    if split == "test" and corrupt is None:  # scoring the test examples: their true labels
        p.pop("corrupt_fraction", None)
        p["corrupt"] = 0
    if milestones is not None:
        try:
            p["milestones"] = [int(m) for m in milestones.split(",") if m.strip()]
        except ValueError:
            raise ValueError(f"--milestones must be comma-separated integers, got {milestones!r}") from None
    for flag, file in (("--scores-from", scores_from), ("--test-scores-from", test_scores_from)):
        if file is not None and not file.is_file():
            raise FileNotFoundError(f"{flag}: no such file: {file}")
    device = str(resolve_device(device))
    p.update(
        dataset=dataset,
        model=model,
        allow_true_label=allow_true_label,
        grad_chunk=grad_chunk,
        grad_method=grad_method,
        show=show,
        split=split,
        scores_from=str(scores_from) if scores_from else "",
        test_scores_from=str(test_scores_from) if test_scores_from else "",
        train_subset=train_subset,
        subset_fraction=subset_fraction,
        milestones=",".join(str(m) for m in p["milestones"]),
        device=device,
    )
    if data_root is not None:  # the engine's cells read the data folder from the environment
        os.environ["BENIGN_DATA_ROOT"] = str(data_root)
    cfg = memscore_cells.run_config(p, seed, device)
    load_inputs(cfg)  # the data, the corruption and earlier scores checked before any folder is made
    spec = grid_spec.from_dict({"kind": "memscore", **p, "seeds": [seed]}, name="memscore")
    t0 = time.time()
    with new_bar(eta=False) as progress:
        task = progress.add_task("training steps", total=None)

        def on_epoch(epoch, rec):
            if epoch == 0:
                progress.update(task, total=rec.total_steps)
            acc = float(rec.correct_seen[-1].float().mean())
            progress.update(
                task,
                description=f"epoch {epoch}/{cfg.epochs} seen-acc {acc:.3f} test {rec.test_accuracy[-1]:.3f}",
            )

        def run_cell(t):  # the grid's one task, here, with the step bar
            hooks = dict(
                on_step=lambda: progress.advance(task), on_epoch=on_epoch, log=progress.console.print
            )
            return [memscore_cells.run_memscore_cell(t.params, t.cells[0]["seed"], t.folder, **hooks)]

        try:
            ds = api.grid(spec, out, workers=0, task_runner=run_cell, command=command_line())
        except (api.MissingData, api.GridFailed) as e:
            progress.stop()
            lines = e.failed if isinstance(e, api.GridFailed) else [str(e)]
            for line in lines:
                typer.echo(f"error: {line}", err=True)
            raise typer.Exit(1) from None
    save_atomic(ds, path)
    score, corrupted = ds["score"].values, ds["corrupted"].values.astype(bool)
    msg = f"wrote {path} ({ds.sizes['example']} examples, {time.time() - t0:.0f} s); mean score {score.mean():.3f}"
    if corrupted.any() and (~corrupted).any():
        top = score >= __import__("numpy").quantile(score, 0.9)
        msg += (
            f"; corrupted {score[corrupted].mean():.3f} vs clean {score[~corrupted].mean():.3f}; "
            f"corrupted share of the top decile {corrupted[top].mean():.3f} (overall {corrupted.mean():.3f})"
        )
    typer.echo(msg)


@app.command("plot")
def plot_cmd(
    result: Path = typer.Argument(..., help="a `memscore run` result file"),
    out: Path = typer.Option(..., "--out", help="folder for the PNG files"),
    control: Path | None = typer.Option(
        None,
        "--control",
        help="a run with --train-subset not-difficult: its difficult-subset curves are drawn dotted (fig. 5)",
    ),
):
    """Figures 2-6 and 9 and the appendix-C image grids of a run."""
    from benign.empirical.memscore.experiment import TITLE
    from benign.empirical.memscore.plots import plot_all
    from benign.store.netcdf import load_result

    ds = load_result(result, require_title=TITLE, require_vars=("score", "correct_seen", "showcase_image"))
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    control_ds = None
    if control is not None:
        control_ds = load_result(control, require_title=TITLE, require_vars=("correct_seen", "dataset_index"))
    for p in plot_all(ds, out, control_ds):
        typer.echo(str(p))
