"""Shared test fixtures and options."""

import json
import os
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
