"""The notebook contract between lesson authors, the exercise generator and the grader.

- An *answer cell* is a code cell with metadata ``{"kafkalab": {"answer": "01.2"}}``. In
  ``solutions/`` its metadata may also hold ``"wrong_answers": ["<cell source>", ...]``: whole
  cell sources that must fail the exercise's check (the tests splice them in).
- A *check cell* is a code cell with metadata ``{"kafkalab": {"check": "01.2"}}`` whose source
  begins with ``# NBVAL_CHECK_OUTPUT``.
- In a notebook ``NN-topic.ipynb`` every exercise id is ``NN.M`` (see ``checks.validate_id``);
  each exercise has one or more answer cells and exactly one check cell, after its answer cells.

``exercises`` enforces this for authored notebooks (solutions and pristine exercise notebooks);
a learner's notebook is only read through ``answer_cells``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from kafkalab.course.checks import EXERCISE_ID, lesson_of

METADATA_KEY = "kafkalab"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
NOTEBOOK_NAME = re.compile(r"(\d{2}[a-z]?)-.+\.ipynb")

CONTRACT = (
    'an exercise is one or more answer cells (code cells with metadata {"kafkalab": {"answer": '
    '"NN.M"}}) followed by one check cell (metadata {"kafkalab": {"check": "NN.M"}}, source '
    f"starting with {CHECK_MARKER!r})"
)


class CourseError(Exception):
    """Bad input to a course command; the message says what was wrong and what is allowed."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook; cell positions are indices into ``nb.cells``."""

    exercise_id: str
    answer_cells: tuple[int, ...]
    check_cell: int


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook as nbformat v4, with a CourseError for a missing or unreadable file."""
    if not path.is_file():
        raise CourseError(f"{path}: no such notebook file")
    try:
        return nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError, nbformat.reader.NotJSONError) as error:
        raise CourseError(f"{path}: not a Jupyter notebook (.ipynb JSON): {error}") from None


def answer_id(cell: nbformat.NotebookNode) -> str | None:
    """The exercise id of an answer code cell, else None."""
    return _role_id(cell, "answer")


def check_id(cell: nbformat.NotebookNode) -> str | None:
    """The exercise id of a check code cell, else None."""
    return _role_id(cell, "check")


def wrong_answers(cell: nbformat.NotebookNode) -> list[str]:
    """The ``wrong_answers`` cell sources of an answer cell (empty if it has none)."""
    return list(cell.metadata.get(METADATA_KEY, {}).get("wrong_answers", []))


def answer_cells(nb: nbformat.NotebookNode) -> dict[str, list[int]]:
    """Indices of the answer code cells of each exercise id, in notebook order."""
    found: dict[str, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        exercise_id = answer_id(cell)
        if exercise_id is not None:
            found.setdefault(exercise_id, []).append(index)
    return found


def exercises(nb: nbformat.NotebookNode, path: Path) -> dict[str, Exercise]:
    """The exercises of an authored notebook, in check-cell order.

    Raises CourseError, saying which cell breaks which rule, if the notebook breaks the contract.
    """
    lesson = NOTEBOOK_NAME.fullmatch(path.name)
    if lesson is None:
        raise CourseError(f"{path}: exercise notebooks are named NN-topic.ipynb (NN: the lesson)")
    answers: dict[str, list[int]] = {}
    checks: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        roles = {"answer", "check"} & cell.metadata.get(METADATA_KEY, {}).keys()
        if not roles:
            continue
        where = f"{path}: cell {index}"
        if cell.cell_type != "code" or len(roles) != 1:
            raise CourseError(f"{where} must be a code cell, an answer or a check; {CONTRACT}")
        role = roles.pop()
        exercise_id = cell.metadata[METADATA_KEY][role]
        if not isinstance(exercise_id, str) or not EXERCISE_ID.fullmatch(exercise_id):
            raise CourseError(f"{where}: bad exercise id {exercise_id!r}; ids look like '01.2'")
        if lesson_of(exercise_id) != lesson.group(1):
            raise CourseError(f"{where}: exercise {exercise_id} is not of lesson {lesson.group(1)}")
        if exercise_id in checks:
            what = "an answer cell" if role == "answer" else "a second check cell"
            raise CourseError(
                f"{where}: {what} of {exercise_id} after its check cell (cell "
                f"{checks[exercise_id]}); {CONTRACT}"
            )
        if role == "answer":
            _validate_wrong_answers(cell, where)
            answers.setdefault(exercise_id, []).append(index)
        elif not cell.source.startswith(CHECK_MARKER):
            raise CourseError(f"{where}: the check of {exercise_id} must start {CHECK_MARKER!r}")
        elif exercise_id not in answers:
            raise CourseError(
                f"{where}: the check cell of {exercise_id} comes before any of its answer cells; "
                f"{CONTRACT}"
            )
        else:
            checks[exercise_id] = index
    if unchecked := sorted(answers.keys() - checks.keys()):
        raise CourseError(f"{path}: no check cell for {', '.join(unchecked)}; {CONTRACT}")
    if not checks:
        raise CourseError(f"{path}: no exercises in this notebook; {CONTRACT}")
    return {
        exercise_id: Exercise(exercise_id, tuple(answers[exercise_id]), check_cell)
        for exercise_id, check_cell in checks.items()
    }


def _role_id(cell: nbformat.NotebookNode, role: str) -> str | None:
    if cell.cell_type != "code":
        return None
    return cell.metadata.get(METADATA_KEY, {}).get(role)


def _validate_wrong_answers(cell: nbformat.NotebookNode, where: str) -> None:
    variants = cell.metadata[METADATA_KEY].get("wrong_answers", [])
    if not isinstance(variants, list) or not all(isinstance(source, str) for source in variants):
        raise CourseError(f"{where}: wrong_answers must be a list of cell sources (strings)")
