"""`benign train`: train an encoder-projector on (random) labels under augmentation; resumes by itself.

Option precedence: --preset, then --config FILE.toml (keys named like the options, with
underscores), then options given on the command line. Every default is `TrainConfig`'s
(empirical/training.py). `--preset table2-<scale>` (small, tiny, full, cpu) runs the grid preset `table2`
(grids/presets.py) on the grid engine, in the directory --out, with the options given as overrides
of its parameters, and prints table 2 in Markdown.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import tomllib
import typer
from rich.progress import TextColumn

from benign.cli import train_options as O
from benign.cli.progress import new_bar
from benign.empirical.training import TrainConfig as T
from benign.grids.presets import SCALES
from benign.grids.presets.paper_runs import PRESETS as PAPER_PRESETS

TABLE2 = "table2"
TABLE2_PRESETS = tuple(f"{TABLE2}-{scale}" for scale in SCALES)


def run_with_progress(cfg, resume: bool, label: str = "train"):
    """Train through the Python API (benign.api.train) with a rich progress bar, shown from the first
    step on (errors before it stay one line); the run's history (xarray)."""
    from benign import api

    state = {}

    def update(step, total, m):
        if "bar" not in state:
            state["bar"] = new_bar(TextColumn("{task.fields[info]}"))
            state["bar"].start()
            state["task"] = state["bar"].add_task(label, total=total, info="")
        knn = m.get("knn_accuracy")
        info = f"loss {m.get('train_loss', float('nan')):.4f}  train acc {m.get('train_accuracy', float('nan')):.3f}"
        info += f"  k-NN {knn:.3f}" if knn is not None else ""
        state["bar"].update(state["task"], completed=step, total=total, info=info)

    options = dataclasses.asdict(cfg)
    network, data, out = options.pop("arch"), options.pop("dataset"), options.pop("out")
    try:
        return api.train(network, data, out=out, resume=resume, progress=update, **options)
    finally:
        if "bar" in state:
            state["bar"].stop()


def _overrides(ctx: typer.Context, config: Path | None, given: dict) -> dict:
    """The values set by --config FILE.toml, then those given on the command line."""
    fields = {f.name for f in dataclasses.fields(T)}
    table = {}
    if config is not None:
        if not config.is_file():
            raise ValueError(f"no such config file: {config}")
        try:
            table = tomllib.loads(config.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{config} is not valid TOML: {str(e).splitlines()[0]}") from None
        table = {k.replace("-", "_"): v for k, v in table.items()}
        unknown = sorted(set(table) - fields)
        if unknown:
            raise ValueError(f"{config}: unknown keys {', '.join(unknown)}")
    explicit = {
        k: v
        for k, v in given.items()
        if getattr(ctx.get_parameter_source(k), "name", "") in ("COMMANDLINE", "ENVIRONMENT")
    }
    return {**table, **explicit}


def _single_run_config(preset: str | None, overrides: dict) -> T:
    from benign.grids.presets.paper_runs import preset as get_preset

    cfg = dataclasses.replace(get_preset(preset) if preset else T(), **overrides)
    cfg.validate()
    return cfg


def train(
    ctx: typer.Context,
    preset: str | None = typer.Option(
        None,
        help=f"{'|'.join(TABLE2_PRESETS)} (grid engine), or <cifar10|cifar100|tinyimagenet>-<resnet18|vgg11>",
    ),
    config: Path | None = typer.Option(None, "--config", help="TOML file of options"),
    dataset: str = O.DATASET,
    data_root: str | None = O.DATA_ROOT,
    download: bool = O.DOWNLOAD,
    subset: int = typer.Option(T.subset, help="class-balanced training subset size (0: all)"),
    subset_seed: int = typer.Option(T.subset_seed, help="seed of the subsets"),
    test_subset: int = typer.Option(
        T.test_subset, help="class-balanced test subset for the k-NN probe (0: all)"
    ),
    arch: str = O.ARCH,
    stem: str = O.STEM,
    projector_width: int = O.PROJECTOR_WIDTH,
    cnn_width: int = O.CNN_WIDTH,
    image_size: int = typer.Option(T.image_size, help="folder:PATH data: resize every image to this side"),
    labels: str = typer.Option(T.labels, help="clean, random, noise:<f>, classes:<C'>, per-sample"),
    label_seed: int = typer.Option(T.label_seed, help="seed of the random labels"),
    augment: str = typer.Option(T.augment, help="none, simclr, randaugment:<0..30>, simclr+randaugment:<l>"),
    mixup: str = typer.Option(T.mixup, help="off, xy (paper), x (authors' code)"),
    mixup_alpha: float = typer.Option(T.mixup_alpha, help="Beta(alpha, alpha) of mixup"),
    bank: int = typer.Option(T.bank, help="B fixed augmentations per image (0: fresh draws)"),
    bank_labels: str = typer.Option(T.bank_labels, help="image or random labels per bank augmentation"),
    iid: int = typer.Option(
        T.iid, help="B i.i.d. same-class images as augmentations (table 3; needs --subset)"
    ),
    loss: str = O.LOSS,
    lr: float = typer.Option(T.lr, help="Adam learning rate (the paper's table says 4e-3, its code 3e-4)"),
    cooldown: float = typer.Option(
        T.cooldown, help="share of the budget, at its end, with the rate falling linearly to 0 (0: constant)"
    ),
    batch_size: int = O.BATCH_SIZE,
    epochs: int = typer.Option(T.epochs, help="budget in epochs"),
    steps: int = typer.Option(T.steps, help="budget in steps instead of epochs (> 0)"),
    seed: int = typer.Option(T.seed, help="seed of the model (table2-*: the only seed)"),
    device: str = O.DEVICE,
    compile: bool = typer.Option(T.compile, help="torch.compile the model"),
    precision: str = O.PRECISION,
    eval_every: int = typer.Option(
        T.eval_every, help="epochs between probes of the learning curve (0: at the end)"
    ),
    checkpoint_every: int = typer.Option(T.checkpoint_every, help="epochs between checkpoints"),
    knn_k: int = typer.Option(T.knn_k, help="neighbours of the k-NN probe"),
    out: str = typer.Option(T.out, help="run folder (checkpoint.pt, history.nc); table2-*: the grid's"),
    probe_reference: str = typer.Option(
        T.probe_reference, help="k-NN reference: full (whole clean training split, the authors') or subset"
    ),
    probe_pool: str = typer.Option(T.probe_pool, help="layer probes on flatten(ed) or avg(-pooled) maps"),
    init: str = O.INIT,
    resume: bool = typer.Option(True, help="continue the checkpoint in --out when there is one"),
):
    """Train on (random) labels; writes OUT/checkpoint.pt and OUT/history.nc (dimension epoch)."""
    given = {k: v for k, v in locals().items() if k not in ("ctx", "preset", "config", "resume")}
    overrides = _overrides(ctx, config, given)
    if preset is not None and preset not in (*TABLE2_PRESETS, *PAPER_PRESETS):
        raise ValueError(
            f"unknown preset {preset!r}; choose from {', '.join((*TABLE2_PRESETS, *PAPER_PRESETS))}"
        )
    if preset in TABLE2_PRESETS:
        run_table2(preset.removeprefix(f"{TABLE2}-"), overrides)
        return
    cfg = _single_run_config(preset, overrides)
    history = run_with_progress(cfg, resume)
    last = history.isel(epoch=-1)
    typer.echo(
        f"done: {int(last['step'])} steps, train acc {float(last['train_accuracy']):.3f}, "
        f"k-NN {float(last['knn_accuracy']):.3f}; {Path(cfg.out) / 'history.nc'}"
    )


# Options that are not parameters of a grid's cells: a table2 preset refuses them.
NOT_FOR_GRIDS = ("data_root", "download", "compile", "checkpoint_every", "steps", "label_seed")


def table2_spec(scale: str, overrides: dict):
    """The grid preset table2 at `scale`, with the given options as its parameters (--seed: the one
    seed); ValueError on an option a grid does not take."""
    from benign.grids import spec as grid_spec
    from benign.grids.presets import preset_dict

    overrides = dict(overrides)
    overrides.pop("out", None)
    refused = sorted(k for k in overrides if k in NOT_FOR_GRIDS)
    if refused:
        names = ", ".join("--" + k.replace("_", "-") for k in refused)
        raise ValueError(f"{names}: not an option of the table2 presets (a grid of runs)")
    raw = preset_dict(TABLE2, scale)
    if "seed" in overrides:
        raw["seeds"] = [overrides.pop("seed")]
    raw.update(overrides)
    return grid_spec.from_dict(raw, name=TABLE2)


def run_table2(scale: str, overrides: dict) -> None:
    """Table 2 (random, random+DA, clean, clean+DA, and initialisation) as the grid preset `table2`
    at `scale`, run in this process on the grid engine into --out; prints the Markdown table."""
    from benign.grids.engine import GRID_FILE, load_grid, run_grid
    from benign.grids.in_process import InProcess
    from benign.plots.tables import markdown_table
    from benign.store.provenance import command_line

    spec = table2_spec(scale, overrides)
    out = Path(overrides.get("out", f"results/{TABLE2}-{scale}"))
    with new_bar(TextColumn("{task.fields[info]}")) as bar:
        task = bar.add_task(f"table 2 ({scale}): cells", total=spec.size(), info="")
        counts = run_grid(
            spec, out, InProcess(), on_batch=lambda k: bar.advance(task, k), command=command_line()
        )
    ds = load_grid(out)
    p = spec.params
    typer.echo(
        f"\n{p['dataset']}, {p['subset'] or 'all'} training images, {p['arch']}, {p['epochs']} epochs, "
        f"{len(spec.seeds)} seed(s) ({out / GRID_FILE})\n"
    )
    typer.echo(markdown_table(ds))
    if counts["failed"]:
        typer.echo(
            f"{counts['failed']} cells failed; `benign grid status {out}` shows their errors", err=True
        )
        raise typer.Exit(1)
