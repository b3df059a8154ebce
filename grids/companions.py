"""The companion studies inside a report: memorization profiles (profiles.nc) and turn-over dropout
scores of a VGG-11 and of an MLP (memscore.nc, memscore-mlp.nc), at the scales their presets have,
with every default of their presets (`benign profiles run` / `benign memscore run` with no options).

A profiles run resumes its networks; a score run is one training, kept once its file is written.
"""

from __future__ import annotations

from pathlib import Path

from benign.store.netcdf import save_atomic
from benign.store.provenance import provenance_attrs

FILES = {"profiles": "profiles.nc", "memscore": "memscore.nc", "memscore-mlp": "memscore-mlp.nc"}
SCORE_MODELS = {"memscore": "vgg11", "memscore-mlp": "mlp"}


def companions_at(scale: str) -> list[str]:
    """The companion runs with a preset at `scale`."""
    from benign.grids.presets.memscore import PRESETS as SCORES
    from benign.grids.presets.profiles import PRESETS as PROFILES

    names = ["profiles"] if scale in PROFILES else []
    return names + [n for n, model in SCORE_MODELS.items() if (scale, model) in SCORES]


def run_profiles(scale: str, out: Path, device: str, executor=None, log=print):
    from benign.empirical.profiles.run import ProfileConfig, run
    from benign.grids.presets.profiles import PRESETS

    # two networks of a method a task: the local workers of a report share the machine
    cfg = ProfileConfig(device=device, max_batch=2, **PRESETS[scale])
    cfg.validate()
    return run(cfg, out, log=log, executor=executor)


def run_scores(scale: str, model: str, out: Path, device: str, log=print):
    from benign.empirical.memscore.experiment import TITLE, RunConfig, config_dict, run
    from benign.grids.presets.memscore import PRESETS

    cfg = RunConfig(model=model, device=device, **PRESETS[(scale, model)])
    cfg.validate()
    ds = run(cfg, log=log)
    ds.attrs.update(provenance_attrs(TITLE, config_dict(cfg)))
    save_atomic(ds, out)
    return ds


def run_companion(name: str, scale: str, out_dir: Path, device: str, executor=None, log=print) -> Path:
    """Run one companion study into out_dir/FILES[name] unless its file is complete there."""
    path = Path(out_dir) / FILES[name]
    if name == "profiles":
        run_profiles(scale, path, device, executor, log)  # resumes: only the networks not done train
    elif not path.is_file():
        run_scores(scale, SCORE_MODELS[name], path, device, log)
    return path
