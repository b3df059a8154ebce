"""One import namespace: the wheel holds `benign/` alone, and no module imports the folders by
their bare names (which would work in this checkout and fail where the wheel is installed)."""

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("theory", "probes", "empirical", "grids", "plots", "store", "api", "cli")


def test_every_import_goes_through_benign():
    bare = []
    for folder in (*FOLDERS, "tests", "benign", "examples"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and not node.level
                    else [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                bare += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in FOLDERS]
    assert not bare, bare[:5]


def test_the_wheel_holds_benign_alone(tmp_path):
    had_build = (ROOT / "build").exists()  # setuptools builds in the checkout's build/
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    if not had_build:
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"benign", "benign_memorization-0.1.0.dist-info"}
    for folder in FOLDERS:
        assert f"benign/{folder}/__init__.py" in names
    assert "benign/empirical/memscore/__init__.py" in names and "benign/empirical/profiles/run.py" in names
