"""Provenance carried by every result file (docs/results-format.md, "Global attributes").

netCDF attributes hold strings and numbers only, so dicts go in as JSON and bools/None as strings.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from benign.store.machine import cpu_bfloat16_units, cpu_model


def package_version() -> str:
    try:
        return metadata.version("benign-memorization")
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def git_commit() -> str:
    """The commit of the source tree this code runs from ('+dirty' if changed), or 'unknown'. Read once a
    process: a long run goes on with the code it imported, whatever the tree becomes meanwhile."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def command_line() -> str:
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def provenance_attrs(title: str, config: dict, command: str | None = None) -> dict:
    import torch

    return {
        "title": title,
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "package_version": package_version(),
        "git_commit": git_commit(),
        "command": command if command is not None else command_line(),
        "config_json": json.dumps(config, sort_keys=True, default=str),
        "python_version": platform.python_version(),
        "torch_version": torch.__version__,
        "host": platform.node(),
        "cpu": cpu_model(),
        "cpu_bfloat16_units": ",".join(cpu_bfloat16_units()) or "none",
    }


def encode_attr(value):
    """A netCDF-safe attribute value."""
    if isinstance(value, (bool, type(None))):
        return json.dumps(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, (list, tuple)) and any(isinstance(v, (str, bool, type(None), dict)) for v in value):
        return json.dumps(list(value), default=str)
    return value


def config_of(attrs: dict) -> dict:
    return json.loads(attrs.get("config_json", "{}"))
