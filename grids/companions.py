"""Memorization profiles (companion 2) inside a report: profiles.nc at the scales its preset has, with
every default of the preset (`benign profiles run` with no options). The run resumes its networks.
(Companion 3's turn-over dropout runs are grids of the engine: presets memscore, memscore-mlp,
corruption.)
"""

from __future__ import annotations

from pathlib import Path

FILES = {"profiles": "profiles.nc"}


def companions_at(scale: str) -> list[str]:
    """The companion runs with a preset at `scale`."""
    from benign.grids.presets.profiles import PRESETS as PROFILES

    return ["profiles"] if scale in PROFILES else []


def run_profiles(scale: str, out: Path, device: str, executor=None, log=print):
    from benign.empirical.profiles.run import ProfileConfig, run
    from benign.grids.presets.profiles import PRESETS

    # two networks of a method a task: the local workers of a report share the machine
    cfg = ProfileConfig(device=device, max_batch=2, **PRESETS[scale])
    cfg.validate()
    return run(cfg, out, log=log, executor=executor)


def run_companion(name: str, scale: str, out_dir: Path, device: str, executor=None, log=print) -> Path:
    """Run one companion study into out_dir/FILES[name] (resuming what is there)."""
    path = Path(out_dir) / FILES[name]
    run_profiles(scale, path, device, executor, log)  # resumes: only the networks not done train
    return path
