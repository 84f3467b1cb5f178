"""Every lesson notebook runs headless under papermill with FAST=True (DESIGN §5)."""

import re

import papermill
import pytest

from kafkalab.course import paths

NOTEBOOKS = sorted((paths.REPO_ROOT / "notebooks").glob("*.ipynb"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_headless(notebook, tmp_path, python3_kernel):
    try:
        papermill.execute_notebook(
            str(notebook),
            str(tmp_path / notebook.name),
            parameters={"FAST": True},
            store_widget_state=False,  # a FigureWidget's state embeds plotly.js (DESIGN §7)
            kernel_name=python3_kernel,
            cwd=str(notebook.parent),
            progress_bar=False,
        )
    except papermill.PapermillExecutionError as error:
        failure = ANSI.sub("", str(error))
    else:
        return
    pytest.fail(f"{notebook.name}: {failure}", pytrace=False)  # outside except: no chained trace
