"""Parsing shared by the commands: comma-separated lists (their values are checked by the library)."""

from __future__ import annotations

from benign.grids.presets import CPU_PRESETS

# --scale of `benign grid run` and `benign report`
SCALE_HELP = (
    "small (this CPU, minutes), cpu (Definition 4.1's regime on this CPU, under an hour a preset; "
    f"{', '.join(CPU_PRESETS)}), full (the paper's axes, GPU) or tiny (a smoke test in seconds)"
)


def int_list(text: str, name: str) -> tuple[int, ...]:
    """'5,10,20' -> (5, 10, 20); ValueError (one line) on what is not a whole number."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"--{name} takes comma-separated whole numbers, got {text!r}") from None


def csv(values) -> str:
    """(5, 10, 20) -> '5,10,20': a library default as the text of a list option."""
    return ",".join(str(v) for v in values)


def in_out_folder(folder, name: str):
    """`--out` is always a folder (docs/cli.md): the path of the file `name` the command writes there.
    ValueError in one line when FOLDER is a file, or looks like one (a .nc, .png or .md name)."""
    from pathlib import Path

    folder = Path(folder)
    if folder.is_file() or (not folder.exists() and folder.suffix in (".nc", ".png", ".md")):
        raise ValueError(f"--out {folder}: --out names a folder (the command writes FOLDER/{name})")
    return folder / name
