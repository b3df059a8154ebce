"""Every preset of a scale, end to end: run its grid, collect it, draw it, and one Markdown page of it all.

DIR/grids/<preset>/   the resumable grid (rerunning the report resumes every grid)
DIR/grids/shared/     training cells two presets share, trained once (grids/shared_cells.py)
DIR/<preset>.nc       the collected grid (docs/results-format.md)
DIR/figures/          pictures and Markdown tables
DIR/report.md         the page: per preset what the paper shows, the wall time, the pictures and tables
DIR/claims.md         the claims scoreboard of the files above (`benign claims --results DIR`)

A rerun resumes: its wall time is that of the cells it trained. So the table of wall times also says,
per preset, how many cells this run trained, took from another preset's (shared) or found done, and
the training seconds its cells recorded themselves, whichever run trained them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from benign.grids import presets
from benign.grids import spec as grid_spec
from benign.grids.engine import collect_grid, failed_cells, missing_data, run_grid
from benign.store.atomic import write_text_atomic
from benign.store.netcdf import save_atomic

WHAT = {
    "table1": "Layer-wise k-NN probing of a random-label run without augmentation, at initialisation and "
    "at the end (table 1).",
    "fig3": "Training loss and share of labels fitted, clean against random labels, no augmentation (figure 3).",
    "table2": "k-NN probing of the embedding after training on random / clean labels, with and without "
    "augmentation, and at initialisation (table 2).",
    "table3": "i.i.d. augmentations (other images of the same true class) on a 1000-image subset (table 3).",
    "table4": "Linear probing of table 2's runs (table 4).",
    "fig4": "Layer-wise k-NN probing of a random-label run with augmentation: clean test labels against "
    "the random training labels (figure 4).",
    "fig6": "B fixed augmentations per image, label-preserving or random per augmentation (figure 6).",
    "fig7": "Normalized invariance (eq. 2) per layer over training, four settings (figure 7).",
    "fig8": "k-NN probing over training for projector widths (figure 8).",
    "fig9": "k-NN probing over training for the number of random classes, 0 = one per sample (figure 9).",
    "fig10": "Transfer: k-NN probing of the embedding on other datasets against label noise, with and "
    "without augmentation (figure 10).",
    "fig11": "k-NN probing over training for label-noise levels, with augmentation (figure 11).",
    "fig12": "k-NN probing over training for RandAugment strengths, random labels (figure 12).",
    "fig13": "Final k-NN probing against label noise, with and without augmentation (figure 13).",
    "fig14": "The toy of appendix E: k-NN probing over n x B after random-label training, "
    "with the capacity line n = C_t / B (figure 14).",
    "fig14k": "Figure 14 as a family over the prototypes K: each K's heatmap with its own line n = C_t / B.",
    "profiles": "Memorization profiles (companion 2): which (network, augmentation) pairs recognise each "
    "image, per method, against binomial noise.",
    "memscore": "Turn-over dropout memorization scores of a VGG-11 with corrupted labels (companion 3).",
    "memscore-mlp": "Turn-over dropout memorization scores of an MLP with corrupted labels (companion 3).",
    "corruption": "Training and test accuracy over the epochs for pools corrupted to different extents "
    "(companion 3, figure 10).",
    "fz": "Feldman-Zhang memorization scores: networks on random halves of a pool with injected wrong "
    "labels; the score of an example is its accuracy when trained on minus when held out.",
    "sslmem": "SSLMem: SimCLR encoders on random halves of a pool with injected images of another "
    "dataset; the score of an image is its views' alignment when trained on minus when held out.",
    "layermem": "LayerMem per layer of table 2's random + DA network, trained on random halves of a pool.",
    "nb": "A real network's n x B grid: training subset n x a bank of B augmentations per image, a random "
    "label per image; heatmap with n = C_t / B, C_t from the B = 1 column.",
}


def report_specs(names: list[str], scale: str) -> dict:
    """The grid specs of the named presets at `scale`; ValueError naming the valid ones otherwise."""
    if scale not in grid_spec.SCALES:
        raise ValueError(f"unknown --scale {scale!r}; valid: {', '.join(grid_spec.SCALES)}")
    unknown = [n for n in names if n not in grid_spec.PRESETS]
    if not names or unknown:
        raise ValueError(
            f"unknown preset {', '.join(unknown) or '(none given)'}; valid: {', '.join(grid_spec.PRESETS)}"
        )
    return {name: grid_spec.preset(name, scale) for name in names}


def presets_at(scale: str) -> list[str]:
    """Every preset with a version at `scale` (the default)."""
    if scale not in grid_spec.SCALES:
        raise ValueError(f"unknown --scale {scale!r}; valid: {', '.join(grid_spec.SCALES)}")
    return list(presets.presets_at(scale))


def run_report(
    scale: str,
    out: str | Path,
    executor,
    names: list[str] | None = None,
    command: str | None = None,
    on_preset: Callable[[str, int], Callable[[int], None]] | None = None,
) -> tuple[Path, list[str]]:
    """Run, collect and draw each preset; returns the path of report.md (rewritten after every preset)
    and what went wrong: one line per preset skipped for missing data and per failed cell."""
    out = Path(out)
    specs = report_specs(names or presets_at(scale), scale)
    sections, rows, problems, t_start = [], {}, [], time.perf_counter()
    for name, spec in specs.items():
        t0 = time.perf_counter()
        advance = on_preset(name, spec.size()) if on_preset else None
        missing = missing_data(spec)
        if missing:
            if advance is not None:
                advance(spec.size())
            sections.append(f"## {name}\n\n{WHAT.get(name, '')}\n\nSkipped: {missing}.\n")
            problems.append(f"{name} skipped: {missing}")
            _write(out, scale, sections, rows, time.perf_counter() - t_start, command)
            continue
        # table 4 probes table 2's runs: the same grid directory
        grid_dir = out / "grids" / ("table2" if name == "table4" else name)
        counts = run_grid(
            spec,
            grid_dir,
            _executor_for(spec, executor),
            on_batch=advance,
            command=command,
            shared=out / "grids" / "shared",
        )
        problems += [f"{name}: failed {line}" for line in failed_cells(grid_dir)] if counts["failed"] else []
        ds = collect_grid(grid_dir)
        ds.attrs["grid_name"] = name
        if counts["trained"] or counts["shared"] or not (out / f"{name}.nc").is_file():
            save_atomic(ds, out / f"{name}.nc")  # a rerun that trained nothing keeps the file as it was
        try:
            files = _draw(name, spec, ds, out)
        except ValueError as e:
            files, note = [], f"(no picture: {e})"
        else:
            note = ""
        wall = time.perf_counter() - t0
        rows[name] = _row(name, counts, wall, ds, spec.size())
        sections.append(_section(name, spec, counts, wall, files, out, note))
        _write(out, scale, sections, rows, time.perf_counter() - t_start, command)
    return out / "report.md", problems


def _draw(name: str, spec, ds, out: Path) -> list:
    """The pictures of a collected preset: a companion study's file gets its study's figures."""
    from benign.plots.auto import plot_result

    study = study_plots(ds)
    if study is not None:
        return list(study(ds, out / "figures" / name))
    return plot_result(ds, out / "figures" / f"{name}.png")


def study_plots(ds):
    """plot_all(ds, folder) of a companion study's file (a profiles file, a turn-over dropout run:
    `profiles plot` / `memscore plot`), or None for any other file."""
    from benign.empirical.memscore.experiment import TITLE as MEMSCORE
    from benign.empirical.profiles.run import TITLE as PROFILES

    title = ds.attrs.get("title")
    if title == MEMSCORE:
        from benign.empirical.memscore.plots import plot_all

        return plot_all
    if title == PROFILES:
        from benign.empirical.profiles.plots import plot_all

        return plot_all
    return None


def _executor_for(spec, executor):
    """A grid of one turn-over dropout run trains in this process, on every core torch takes (a local
    worker runs one thread; the shipped memscore files were made this way)."""
    if spec.kind == "memscore" and spec.size() == 1:
        from benign.grids.in_process import InProcess

        return InProcess()
    return executor


def _row(name: str, counts: dict, wall: float, ds, size: int) -> str:
    """A line of the wall-time table: the run's wall time, where the done cells came from, and the sum of
    the training seconds the cells recorded (train_time; table 4 shares table 2's cells)."""
    own = f"{float(ds['train_time'].sum()):.0f}" if "train_time" in ds else ""
    if name == "table4":
        own = "(table 2's cells)"
    return (
        f"| {name} | {wall:.0f} | {counts['trained']} | {counts['shared']} | {counts['resumed']} | "
        f"{counts['done']} / {size} | {own} |"
    )


def _section(name, spec, counts, wall, files, out: Path, note: str) -> str:
    lines = [
        f"## {name}",
        "",
        WHAT.get(name, ""),
        "",
        f"{spec.size()} cells ({' x '.join(f'{d} {len(v)}' for d, v in spec.coords.items())}); "
        f"{counts['done']} done, {counts['failed']} failed; {wall:.0f} s. Data: `{name}.nc`.",
        "",
    ]
    if note:
        lines += [note, ""]
    for f in files:
        rel = Path(f).relative_to(out)
        lines += [
            Path(f).read_text().strip() if Path(f).suffix == ".md" else f"![{name}]({rel.as_posix()})",
            "",
        ]
    return "\n".join(lines)


def _write(out: Path, scale: str, sections: list[str], rows: dict, total: float, command: str | None) -> None:
    """report.md, and claims.md: the scoreboard of the files the report holds so far (grids/claims.py)."""
    from benign.grids.claims import markdown, scoreboard
    from benign.store.provenance import git_commit

    claims = markdown(scoreboard(out, scale))
    head = [
        f"# benign-memorization report, scale `{scale}`",
        "",
        f"Command: `{command or ''}`; commit {git_commit()}; total wall time {total:.0f} s.",
        "",
        "| preset | wall time (s) | cells trained | from another preset | done before | done / all "
        "| cells' training time (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows.values(),
        "",
        "## Claims",
        "",
        claims,
    ]
    text = "\n".join(head + sections) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "claims.md", f"# Claims at the {scale} scale\n\n" + claims)
    tmp = out / ".report.md.tmp"
    tmp.write_text(text)
    tmp.replace(out / "report.md")
