"""`benign toy ...`: the Gaussian-mixture toy of appendix E (figure 14 and the capacity C_t)."""

from __future__ import annotations

import numpy as np
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cli.errors import BadInput
from cli.options import int_list, resolve_device
from store.cell_grid import CellGrid
from theory.capacity import capacity_bracket, hard_projector_capacity_bound, repeat_seed_offset, toy_trial
from theory.gaussian_mixture import GaussianMixture
from theory.toy_grid import VARIABLES, ProbeSetup, run_toy_cells
from theory.toy_model import ToyTraining

app = typer.Typer(
    help="The Gaussian-mixture toy of appendix E: figure 14 and the capacity C_t.", no_args_is_help=True
)

# Figure 14's axes, thinned to 12 x 12 so that 3 seeds run in minutes on a 2-core CPU.
DEFAULT_N = "5,10,15,20,30,40,50,70,100,125,150,200"
DEFAULT_B = "1,2,3,4,6,8,16,32,64,128,512,1024"
GRID_TITLE = "benign toy grid"
CAPACITY_TITLE = "benign toy capacity"


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        transient=False,
    )


def _models(
    C, d, d1, sigma, centre_scale, K, steps, lr, batch_size, train_prototypes, label_classes, label_noise
):
    try:
        return (
            GaussianMixture(C=C, d=d, d1=d1, sigma=sigma, centre_scale=centre_scale),
            ToyTraining(
                K=K,
                steps=steps,
                lr=lr,
                batch_size=batch_size,
                train_prototypes=train_prototypes,
                label_classes=label_classes,
                label_noise=label_noise,
            ),
        )
    except ValueError as e:
        raise BadInput(str(e)) from None


@app.command()
def grid(
    n: str = typer.Option(DEFAULT_N, "--n", help="training-set sizes, comma-separated"),
    B: str = typer.Option(
        DEFAULT_B, "--B", help="augmentations per sample (the first is the identity), comma-separated"
    ),
    seeds: int = typer.Option(3, "--seeds", help="seeds 0..S-1 per cell"),
    C: int = typer.Option(5, "--C", help="classes of the mixture"),
    d: int = typer.Option(40, "--d", help="input dimension"),
    d1: int = typer.Option(4, "--d1", help="signal coordinates (keep d1 <= C-1)"),
    sigma: float = typer.Option(1.0, "--sigma", help="noise scale: Sigma2 = Sigma3 = 10 Sigma1 = sigma^2 I"),
    centre_scale: float = typer.Option(1.0, "--centre-scale", help="cluster centres ~ N(0, scale^2 I)"),
    K: int = typer.Option(32, "--K", help="projector prototypes"),
    steps: int = typer.Option(1000, "--steps", help="Adam steps (the budget t)"),
    lr: float = typer.Option(0.01, "--lr", help="Adam learning rate"),
    batch_size: int = typer.Option(256, "--batch-size", help="(point, augmentation) pairs per cell and step"),
    train_prototypes: bool = typer.Option(False, "--train-prototypes/--fixed-prototypes", help="train V too"),
    label_classes: int = typer.Option(0, "--label-classes", help="random classes C' (0: C)"),
    label_noise: float = typer.Option(1.0, "--label-noise", help="fraction of labels made random"),
    n_probe: int = typer.Option(1000, "--n-probe", help="labelled reference points of the k-NN probe"),
    n_test: int = typer.Option(1000, "--n-test", help="unseen test points"),
    knn_k: int = typer.Option(20, "--knn-k", help="neighbours of the k-NN probe"),
    vote: str = typer.Option(
        "uniform", "--vote", help="uniform (the authors') or cosine (DINO, exp(s/0.07))"
    ),
    capacity: bool = typer.Option(
        True, "--capacity/--no-capacity", help="also estimate C_t for the line n = C_t / B"
    ),
    capacity_R: int = typer.Option(4, "--capacity-R", help="labellings tried per n in the capacity search"),
    chunk: int = typer.Option(
        72, "--chunk", help="cells trained as one batched computation (and saved together)"
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda"),
    out: str = typer.Option("results/toy_grid.nc", "--out", help="netCDF file; rerunning resumes it"),
):
    """Figure 14: k-NN probing after random-label training over a grid of n x B x seed."""
    ns, Bs = int_list(n, "n"), int_list(B, "B")
    if seeds < 1 or chunk < 1 or n_probe < 1 or n_test < 1 or knn_k < 1 or capacity_R < 1:
        raise BadInput("--seeds, --chunk, --n-probe, --n-test, --knn-k and --capacity-R must be positive")
    if vote not in ("uniform", "cosine"):
        raise BadInput("--vote must be uniform or cosine")
    mixture, training = _models(
        C,
        d,
        d1,
        sigma,
        centre_scale,
        K,
        steps,
        lr,
        batch_size,
        train_prototypes,
        label_classes or None,
        label_noise,
    )
    dev = resolve_device(device)
    probe = ProbeSetup(n_probe=n_probe, n_test=n_test, k=knn_k, vote=vote)
    config = {
        "mixture": mixture.to_dict(),
        "training": training.to_dict(),
        "probe": probe.to_dict(),
        "capacity": capacity,
        "capacity_R": capacity_R,
    }
    store = CellGrid(out, {"n": ns, "B": Bs, "seed": list(range(seeds))}, VARIABLES, GRID_TITLE, config)
    todo = store.todo()
    if todo:
        typer.echo(f"{len(todo)} of {len(store.cells())} cells to do -> {out}")
    with _progress() as bar:
        task = bar.add_task("toy grid", total=len(todo))
        for start in range(0, len(todo), chunk):
            cells = todo[start : start + chunk]
            step_task = bar.add_task(f"  cells {start + 1}-{start + len(cells)}: steps", total=steps)
            results = run_toy_cells(
                mixture,
                training,
                cells,
                probe,
                device=dev,
                progress=lambda s, task=step_task: bar.update(task, completed=s),
            )
            bar.remove_task(step_task)
            store.record(list(zip(cells, results)))
            bar.advance(task, len(cells))
        if capacity and "capacity_lower" not in store.ds:
            cap_task = bar.add_task("capacity C_t (B = 1)", total=None)
            bracket = capacity_bracket(
                toy_trial(mixture, training, predict="soft", device=dev),
                R=capacity_R,
                ways=4,
                n_max=4096,
                progress=lambda k: bar.advance(cap_task, k),
            )
            _store_capacity(store, bracket)
    acc = store.ds["knn_acc"].mean("seed")
    typer.echo(
        f"k-NN accuracy: mean {float(acc.mean()):.3f}, at initialisation {float(store.ds['knn_acc_init'].mean()):.3f}"
        f"; random guessing {1 / C:.3f}"
    )
    typer.echo(f"wrote {out}")


def _store_capacity(store: CellGrid, bracket) -> None:
    upper = np.nan if bracket.upper is None else float(bracket.upper)
    store.ds["capacity_lower"] = (
        (),
        float(bracket.lower),
        {"long_name": "capacity C_t: largest n memorised under every labelling tried", "units": "1"},
    )
    store.ds["capacity_upper"] = (
        (),
        upper,
        {"long_name": "capacity C_t: smallest n at which a labelling failed", "units": "1"},
    )
    store.ds.attrs["capacity_R"] = bracket.R
    store.save()


@app.command("capacity")
def capacity_cmd(
    K: str = typer.Option("4,8,16,32,64", "--K", help="prototype counts, comma-separated"),
    steps: str = typer.Option("1000", "--steps", help="budgets t, comma-separated"),
    R: int = typer.Option(4, "--R", help="random labellings tried per n"),
    repeats: int = typer.Option(
        1, "--repeats", help="independent searches (own points and labellings each): the bracket's spread"
    ),
    fixed_points: bool = typer.Option(
        True,
        "--fixed-points/--redraw-points",
        help="definition D.1: one set of points, R labellings of it (or new points per labelling)",
    ),
    B: int = typer.Option(1, "--B", help="augmentations per sample (n*B is the effective sample size)"),
    n_max: int = typer.Option(4096, "--n-max", help="largest n tried"),
    predict: str = typer.Option(
        "soft", "--predict", help="soft (arg-max of g_V) or hard (nearest prototype)"
    ),
    C: int = typer.Option(5, "--C"),
    d: int = typer.Option(40, "--d"),
    d1: int = typer.Option(4, "--d1"),
    sigma: float = typer.Option(1.0, "--sigma"),
    centre_scale: float = typer.Option(1.0, "--centre-scale"),
    lr: float = typer.Option(0.01, "--lr"),
    batch_size: int = typer.Option(256, "--batch-size"),
    train_prototypes: bool = typer.Option(False, "--train-prototypes/--fixed-prototypes"),
    device: str = typer.Option("auto", "--device"),
    out: str = typer.Option("results/toy_capacity.nc", "--out"),
):
    """Capacity C_t (appendix D.1) against K and t: doubling then bisection over n, R labellings each."""
    Ks, ts = int_list(K, "K"), int_list(steps, "steps")
    if R < 1 or R > 1000 or B < 1 or n_max < 1 or repeats < 1:
        raise BadInput("--R (at most 1000), --B, --n-max and --repeats must be positive")
    if predict not in ("soft", "hard"):
        raise BadInput("--predict must be soft or hard")
    mixture, _ = _models(
        C, d, d1, sigma, centre_scale, Ks[0], ts[0], lr, batch_size, train_prototypes, None, 1.0
    )
    dev = resolve_device(device)
    variables = {
        "capacity_lower": {"long_name": "largest n memorised under every labelling tried", "units": "1"},
        "capacity_upper": {
            "long_name": "smallest n at which a labelling failed (NaN: none up to n_max)",
            "units": "1",
        },
        "hard_bound": {
            "long_name": "upper bound on the capacity of the hard projector (theory.capacity)",
            "units": "1",
        },
    }
    config = {
        "mixture": mixture.to_dict(),
        "lr": lr,
        "batch_size": batch_size,
        "train_prototypes": train_prototypes,
        "R": R,
        "fixed_points": fixed_points,
        "B": B,
        "n_max": n_max,
        "predict": predict,
    }
    store = CellGrid(
        out, {"K": Ks, "steps": ts, "repeat": list(range(repeats))}, variables, CAPACITY_TITLE, config
    )
    with _progress() as bar:
        todo = store.todo()
        task = bar.add_task("capacity", total=len(todo))
        for cell in todo:
            training = ToyTraining(
                K=cell["K"],
                steps=cell["steps"],
                lr=lr,
                batch_size=batch_size,
                train_prototypes=train_prototypes,
            )
            sub = bar.add_task(
                f"  K={cell['K']} t={cell['steps']} repeat {cell['repeat']}: n tried", total=None
            )
            offset = repeat_seed_offset(cell["repeat"])
            br = capacity_bracket(
                toy_trial(mixture, training, B, predict, dev, offset, fixed_points),
                R=R,
                ways=4,
                n_max=n_max,
                progress=lambda k, task=sub: bar.advance(task, k),
            )
            bar.remove_task(sub)
            store.record(
                [
                    (
                        cell,
                        {
                            "capacity_lower": br.lower,
                            "capacity_upper": np.nan if br.upper is None else br.upper,
                            "hard_bound": hard_projector_capacity_bound(cell["K"], d, C),
                        },
                    )
                ]
            )
            bar.advance(task)
    ds = store.ds
    for K_ in Ks:
        for t in ts:
            row = ds.sel(K=K_, steps=t)
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
    typer.echo(f"wrote {out}")
