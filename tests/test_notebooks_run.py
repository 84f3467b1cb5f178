"""Every lesson notebook runs headless under papermill with FAST=True (DESIGN §5).

The executed notebooks are kept for the session (``executed_notebook`` in ``conftest.py``), so
tests of what a notebook shows (``test_views_NN.py``) read the same run instead of another one.
"""

import pytest

from kafkalab.course import paths

NOTEBOOKS = sorted((paths.REPO_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_headless(notebook, executed_notebook):
    executed_notebook(notebook.name)
