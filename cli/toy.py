"""`benign toy ...`: the Gaussian-mixture toy of appendix E (figure 14 and the capacity C_t).

`benign toy grid` is a front end of the grid engine (grids/engine.py): its options make a toy grid
spec (the `fig14` preset with the options' values), run in the directory --out like `benign grid run`.
Every default is the library's (theory/toy_settings.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from benign.cli.options import csv, int_list
from benign.cli.progress import CellsBar, new_bar
from benign.grids.engine import GRID_FILE, MAX_BATCH
from benign.theory.devices import DEVICE_HELP, resolve_device
from benign.theory.toy_settings import CapacitySweep, ToySettings

app = typer.Typer(
    help="The Gaussian-mixture toy of appendix E: figure 14 and the capacity C_t.", no_args_is_help=True
)

CAPACITY_TITLE = "benign toy capacity"
T, S = ToySettings, CapacitySweep
GRID_PRESET = "fig14"


# Options shared by both commands: the mixture and the optimiser.
C_OPT = typer.Option(T.C, "--C", help="classes of the mixture")
D_OPT = typer.Option(T.d, "--d", help="input dimension")
D1_OPT = typer.Option(T.d1, "--d1", help="signal coordinates (keep d1 <= C-1)")
SIGMA_OPT = typer.Option(T.sigma, "--sigma", help="noise scale: Sigma2 = Sigma3 = 10 Sigma1 = sigma^2 I")
CENTRE_OPT = typer.Option(T.centre_scale, "--centre-scale", help="cluster centres ~ N(0, scale^2 I)")
LR_OPT = typer.Option(T.lr, "--lr", help="Adam learning rate")
RATIO_OPT = typer.Option(
    T.prototype_lr_ratio, "--prototype-lr-ratio", help="trained prototypes' lr = lr x this (fig14k: 10)"
)
BATCH_OPT = typer.Option(T.batch_size, "--batch-size", help="(point, augmentation) pairs per model and step")
PROTO_OPT = typer.Option(
    T.train_prototypes, "--train-prototypes/--fixed-prototypes", help="train the prototypes V too"
)
DEVICE_OPT = typer.Option(T.device, "--device", help=DEVICE_HELP)


@app.command()
def grid(
    n: str = typer.Option(csv(T.n), "--n", help="training-set sizes, comma-separated"),
    B: str = typer.Option(
        csv(T.B), "--B", help="augmentations per sample (the first is the identity), comma-separated"
    ),
    seeds: int = typer.Option(T.seeds, "--seeds", help="seeds 0..S-1 per cell"),
    C: int = C_OPT,
    d: int = D_OPT,
    d1: int = D1_OPT,
    sigma: float = SIGMA_OPT,
    centre_scale: float = CENTRE_OPT,
    K: int = typer.Option(T.K, "--K", help="projector prototypes"),
    steps: int = typer.Option(T.steps, "--steps", help="Adam steps (the budget t)"),
    lr: float = LR_OPT,
    prototype_lr_ratio: float = RATIO_OPT,
    batch_size: int = BATCH_OPT,
    train_prototypes: bool = PROTO_OPT,
    label_classes: int = typer.Option(T.label_classes, "--label-classes", help="random classes C' (0: C)"),
    label_noise: float = typer.Option(T.label_noise, "--label-noise", help="fraction of labels made random"),
    n_probe: int = typer.Option(T.n_probe, "--n-probe", help="labelled reference points of the k-NN probe"),
    n_test: int = typer.Option(T.n_test, "--n-test", help="unseen test points"),
    knn_k: int = typer.Option(T.knn_k, "--knn-k", help="neighbours of the k-NN probe"),
    vote: str = typer.Option(T.vote, "--vote", help="uniform (the authors') or cosine (DINO, exp(s/0.07))"),
    capacity: bool = typer.Option(
        T.capacity, "--capacity/--no-capacity", help="also estimate C_t for the line n = C_t / B"
    ),
    capacity_R: int = typer.Option(
        T.capacity_R, "--capacity-labellings", help="random labellings tried per n in the capacity search"
    ),
    chunk: int = typer.Option(
        MAX_BATCH, "--chunk", help="at most this many cells trained as one batched computation"
    ),
    device: str = DEVICE_OPT,
    workers: int = typer.Option(
        None, "--workers", help="run the batches on N local worker processes (default: in this process)"
    ),
    scheduler: str = typer.Option(None, "--scheduler", help="run them on a Dask scheduler, tcp://HOST:PORT"),
    out: Path = typer.Option(
        Path("results/toy_grid"), "--out", help="directory of the grid (DIR/grid.nc); rerunning resumes it"
    ),
):
    """Figure 14: k-NN probing after random-label training over a grid of n x B x seed.

    The grid engine's `fig14` grid with these values: `benign grid run` and `benign grid status` work
    on the same directory; `benign plot DIR/grid.nc` draws it."""
    from benign.grids import spec as grid_spec
    from benign.grids.engine import load_grid, open_grid, run_grid
    from benign.grids.executors import make_executor
    from benign.grids.in_process import InProcess
    from benign.store.provenance import command_line

    if out.suffix == ".nc":
        raise ValueError(f"--out names the grid's directory (it writes DIR/{GRID_FILE}); got {out}")
    if chunk < 1:
        raise ValueError(f"--chunk must be >= 1, got {chunk}")
    settings = ToySettings(
        n=int_list(n, "n"),
        B=int_list(B, "B"),
        seeds=seeds,
        C=C,
        d=d,
        d1=d1,
        sigma=sigma,
        centre_scale=centre_scale,
        K=K,
        steps=steps,
        lr=lr,
        prototype_lr_ratio=prototype_lr_ratio,
        batch_size=batch_size,
        train_prototypes=train_prototypes,
        label_classes=label_classes,
        label_noise=label_noise,
        n_probe=n_probe,
        n_test=n_test,
        knn_k=knn_k,
        vote=vote,
        capacity=capacity,
        capacity_R=capacity_R,
        device=device,
    )
    settings.validate()
    resolve_device(device)  # a CUDA device that is not here: one line before any work
    spec = grid_spec.from_dict({"kind": "toy", **settings.to_dict()}, name=GRID_PRESET)
    distributed = workers is not None or scheduler is not None
    with make_executor(workers, scheduler) if distributed else InProcess() as executor:
        store = open_grid(out, spec, command_line())
        todo = len(store.todo())
        if todo:
            typer.echo(f"{todo} of {spec.size()} cells to do on {executor.description} -> {out}")
        with new_bar() as bar:
            task = bar.add_task("toy grid", total=todo)
            counts = run_grid(
                spec,
                out,
                executor,
                max_batch=chunk,
                on_batch=lambda k: bar.advance(task, k),
                command=command_line(),
            )
    ds = load_grid(out)
    if counts["failed"]:
        typer.echo(f"{counts['failed']} cells failed; `benign grid status {out}` shows their errors")
    done = ds["status"] == 1
    acc, init = ds["knn_acc"].where(done), ds["knn_acc_init"].where(done)
    typer.echo(
        f"k-NN accuracy: mean {float(acc.mean()):.3f}, at initialisation {float(init.mean()):.3f}"
        f"; random guessing {1 / C:.3f}"
    )
    typer.echo(f"wrote {out / GRID_FILE}")
    if counts["failed"]:
        raise typer.Exit(1)


@app.command("capacity")
def capacity_cmd(
    K: str = typer.Option(csv(S.K), "--K", help="prototype counts, comma-separated"),
    steps: str = typer.Option(csv(S.steps), "--steps", help="budgets t, comma-separated"),
    R: int = typer.Option(S.R, "--labellings", "-R", help="random labellings tried per n (R)"),
    repeats: int = typer.Option(
        S.repeats, "--repeats", help="independent searches (own points and labellings each): the spread"
    ),
    fixed_points: bool = typer.Option(
        S.fixed_points,
        "--fixed-points/--redraw-points",
        help="definition D.1: one set of points, R labellings of it (or new points per labelling)",
    ),
    B: int = typer.Option(S.B, "--B", help="augmentations per sample (n*B: the effective sample size)"),
    n_max: int = typer.Option(S.n_max, "--n-max", help="largest n tried"),
    predict: str = typer.Option(
        S.predict, "--predict", help="soft (arg-max of g_V) or hard (nearest prototype)"
    ),
    C: int = C_OPT,
    d: int = D_OPT,
    d1: int = D1_OPT,
    sigma: float = SIGMA_OPT,
    centre_scale: float = CENTRE_OPT,
    lr: float = LR_OPT,
    prototype_lr_ratio: float = RATIO_OPT,
    batch_size: int = BATCH_OPT,
    train_prototypes: bool = PROTO_OPT,
    device: str = DEVICE_OPT,
    workers: int = typer.Option(
        None, "--workers", help="run the searches on N local worker processes (default: in this process)"
    ),
    out: Path = typer.Option(
        Path("results/toy_capacity"), "--out", help="folder of the grid (DIR/grid.nc); rerunning resumes it"
    ),
):
    """Capacity C_t (appendix D.1) against K and t: doubling then bisection over n, R labellings each;
    a grid of kind capacity on the grid engine (resumable), one cell per K, t and repeat."""
    from benign import api
    from benign.store.provenance import command_line
    from benign.theory.devices import check_device

    check_device(device)  # as every command says it, before the grid's own checks
    spec = {
        "kind": "capacity",
        "K": list(int_list(K, "K")),
        "steps": list(int_list(steps, "steps")),
        "R": R,
        "B": B,
        "n_max": n_max,
        "predict": predict,
        "fixed_points": fixed_points,
        "C": C,
        "d": d,
        "d1": d1,
        "sigma": sigma,
        "centre_scale": centre_scale,
        "lr": lr,
        "prototype_lr_ratio": prototype_lr_ratio,
        "batch_size": batch_size,
        "train_prototypes": train_prototypes,
        "device": device,
        "seeds": repeats,
    }
    spec = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in spec.items()}
    if repeats < 1:
        raise ValueError(f"--repeats must be at least 1, got {repeats}")
    with CellsBar("capacity searches", "{todo} of {size} searches to do on {where} -> " + str(out)) as bar:
        ds = api.grid(
            spec,
            out,
            name="toy-capacity",
            workers=0 if workers is None else workers,
            on_start=bar.on_start,
            on_batch=bar.on_batch,
            command=command_line(),
        )
    for K_ in np.atleast_1d(ds["K"].values if "K" in ds.dims else [spec["K"]]):
        for t in np.atleast_1d(ds["steps"].values if "steps" in ds.dims else [spec["steps"]]):
            row = ds.sel({k: v for k, v in (("K", K_), ("steps", t)) if k in ds.dims})
            lo, hi = row.capacity_lower.values, row.capacity_upper.values
            brackets = ", ".join(
                f"[{int(a)}, {'>' + str(n_max) if np.isnan(b) else int(b)}]" for a, b in zip(lo, hi)
            )
            spread = (
                f"; over {repeats} repeats lower {int(lo.min())}..{int(lo.max())} (median {np.median(lo):g})"
                if repeats > 1
                else ""
            )
            typer.echo(
                f"K={K_:>4} t={t:>6}: C_t in {brackets} (R = {R}){spread}, "
                f"hard-projector bound {int(row.hard_bound.values[0])}"
            )
    typer.echo(f"wrote {out / GRID_FILE}")
