"""Run notebooks under ``pytest --nbval-lax --nbval-current-env`` and return each cell's outcome.

One pytest subprocess runs all the given notebooks (each in its own kernel, cells in order; a
failing cell does not stop the later ones). The kernel runs with the notebook's folder as working
directory and imports the same ``kafkalab`` as this process (its folder is put first on
PYTHONPATH). pytest loads only nbval and ``nbval_plugin``, no other installed plugin, and no
conftest or ini file. Outcomes are keyed by nbval's cell number: the position among code cells,
from 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from kafkalab.course import paths
from kafkalab.course.notebooks import CourseError

CELL_TIMEOUT_S = 300  # a kernel that dies mid-cell is only noticed at this timeout


@dataclass(frozen=True)
class CellOutcome:
    passed: bool
    ename: str = ""  # class name of the exception the cell raised, "" if none
    message: str = ""  # the exception's value, or nbval's reason (outputs differ, timeout, ...)
    printed: str = ""  # what the cell printed to stdout and stderr


def run_notebooks(
    notebook_paths: Sequence[Path], *, cell_timeout_s: int = CELL_TIMEOUT_S
) -> dict[str, dict[int, CellOutcome]]:
    """Outcomes by notebook file name, then code-cell number; a cell that never ran is absent.

    The notebooks must share one folder (their names are then distinct).
    """
    if not notebook_paths:
        return {}
    for module in ("pytest", "nbval"):
        if find_spec(module) is None:
            raise CourseError(f"running notebooks needs {module} (the `test` extra of kafkalab)")
    folders = {path.resolve().parent for path in notebook_paths}
    if len(folders) != 1:
        raise CourseError(f"notebooks to run must share one folder: {sorted(map(str, folders))}")
    folder = folders.pop()
    with tempfile.TemporaryDirectory(prefix="kafkalab-nbval-") as scratch:
        cells_file = Path(scratch) / "cells.jsonl"
        command = [
            sys.executable, "-m", "pytest",
            "-p", "nbval.plugin", "--nbval-lax", "--nbval-current-env",
            f"--nbval-cell-timeout={cell_timeout_s}",
            "-p", "no:cacheprovider", "-p", "kafkalab.course.nbval_plugin",
            f"--kafkalab-cells={cells_file}",
            "-c", os.devnull, f"--rootdir={folder}", "--noconftest", "--color=no", "-q",
            *(path.name for path in notebook_paths),
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=folder, env=_environment(), capture_output=True, text=True
        )
        lines = cells_file.read_text(encoding="utf-8").splitlines() if cells_file.exists() else []
    if done.returncode not in (0, 1, 5):  # 5: no code cells at all
        names = ", ".join(path.name for path in notebook_paths)
        raise CourseError(
            f"pytest could not run {names} (exit {done.returncode}):\n"
            f"{(done.stdout + done.stderr)[-3000:]}"
        )
    outcomes: dict[str, dict[int, CellOutcome]] = {path.name: {} for path in notebook_paths}
    for line in map(json.loads, lines):
        outcomes[line["notebook"]][line["cell"]] = CellOutcome(
            line["passed"], line["ename"], line["message"], line["printed"]
        )
    return outcomes


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(paths.REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the plugins named with -p
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences the kernel's debugger warning
    return env
