"""Shared test fixtures and options."""

import json
import os
import re
import sys

import pytest

from kafkalab.course import paths


@pytest.fixture(scope="session")
def python3_kernel(tmp_path_factory: pytest.TempPathFactory):
    """The kernel name "python3", made to start this interpreter with this checkout's kafkalab.

    A kernelspec in the first JUPYTER_PATH folder wins over user and system ones, so a
    ``python3`` kernel installed elsewhere on the machine cannot be picked up instead.
    """
    folder = tmp_path_factory.mktemp("jupyter")
    (folder / "kernels" / "python3").mkdir(parents=True)
    (folder / "kernels" / "python3" / "kernel.json").write_text(
        json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (kafkalab tests)",
            "language": "python",
        })
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", _prepend(folder, "JUPYTER_PATH"))
        patch.setenv("PYTHONPATH", _prepend(paths.REPO_ROOT, "PYTHONPATH"))
        yield "python3"


ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="session")
def executed_notebook(python3_kernel, tmp_path_factory):
    """``executed_notebook("01-topics-partitions-offsets.ipynb")``: that lesson notebook run once
    per session under papermill with FAST=True, as an nbformat notebook with its outputs. A
    failing run fails every test that asks for it, with the cell's error and no chained trace."""
    import nbformat
    import papermill

    folder = tmp_path_factory.mktemp("executed")
    runs: dict[str, object] = {}

    def run(name: str):
        if name not in runs:
            notebook = paths.REPO_ROOT / "notebooks" / name
            try:
                papermill.execute_notebook(
                    str(notebook), str(folder / name), parameters={"FAST": True},
                    store_widget_state=False,  # a FigureWidget's state embeds plotly.js
                    kernel_name=python3_kernel, cwd=str(notebook.parent), progress_bar=False)
            except papermill.PapermillExecutionError as error:
                runs[name] = f"{name}: {ANSI.sub('', str(error))}"
            else:
                runs[name] = nbformat.read(folder / name, as_version=4)
        if isinstance(runs[name], str):
            pytest.fail(runs[name], pytrace=False)
        return runs[name]

    return run


def _prepend(folder, variable):
    return os.pathsep.join(filter(None, [str(folder), os.environ.get(variable)]))


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true",
                     help="run long randomized checks with many more seeds")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="long run: use pytest --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
