"""Generate ``exercises/NN-topic.ipynb`` from ``solutions/NN-topic.ipynb`` (``make exercises``).

The exercise notebook is the solution notebook with:

- in each answer cell, every region from a ``### BEGIN SOLUTION`` line to the next
  ``### END SOLUTION`` line (markers included) replaced by one line
  ``raise NotImplementedError("Exercise 01.2: write your answer here")`` indented like the
  BEGIN marker; code outside the regions stays;
- ``wrong_answers`` removed from answer cell metadata;
- every output and execution count cleared, except in check cells, which store one executed
  output, the pass line ``✅ 01.2 passed``, with ``execution_count`` set to the cell's 1-based
  position among code cells (nbval-lax compares a ``# NBVAL_CHECK_OUTPUT`` cell only if it was
  executed);
- widget state and execution timestamps dropped from the metadata.

Invariant: the output is a pure function of the solution file's content (cell ids are copied,
JSON is written as nbformat writes it), so ``--check`` can compare exercises/ byte for byte.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import nbformat

from kafkalab.course import checks, notebooks
from kafkalab.course.notebooks import CourseError

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
VOLATILE_NOTEBOOK_METADATA = ("widgets", "papermill")
VOLATILE_CELL_METADATA = ("execution", "papermill", "ExecuteTime")


def placeholder(exercise_id: str) -> str:
    """The statement an exercise notebook has in place of a solution region."""
    return f'raise NotImplementedError("Exercise {exercise_id}: write your answer here")'


def strip_solutions(source: str, exercise_id: str, where: str) -> str:
    """Replace each solution region of an answer cell's source by the placeholder."""
    kept: list[str] = []
    regions = 0
    indent = None  # the BEGIN marker's indentation while inside a region
    for line in source.splitlines(keepends=True):
        marker = line.strip()
        if marker == BEGIN_SOLUTION:
            if indent is not None:
                raise CourseError(f"{where}: {BEGIN_SOLUTION!r} inside a solution region")
            indent = line[: len(line) - len(line.lstrip())]
        elif marker == END_SOLUTION:
            if indent is None:
                raise CourseError(f"{where}: {END_SOLUTION!r} without {BEGIN_SOLUTION!r} before it")
            kept.append(indent + placeholder(exercise_id) + line[len(line.rstrip("\r\n")) :])
            indent = None
            regions += 1
        elif indent is None:
            kept.append(line)
    if indent is not None:
        raise CourseError(f"{where}: {BEGIN_SOLUTION!r} without {END_SOLUTION!r} after it")
    if regions == 0:
        raise CourseError(
            f"{where}: answer cell of {exercise_id} has no solution region; put the solution "
            f"between lines {BEGIN_SOLUTION!r} and {END_SOLUTION!r}"
        )
    return "".join(kept)


def exercise_notebook(solution: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode:
    """The exercise notebook generated from the solution notebook read from ``path``."""
    has_ids = (solution.nbformat, solution.nbformat_minor) >= (4, 5)
    if not has_ids or not all("id" in cell for cell in solution.cells):
        raise CourseError(
            f"{path}: cells need stable ids (nbformat 4.5 or newer); save it with JupyterLab 4 "
            f"or nbformat 5 first"
        )
    notebooks.exercises(solution, path)
    nb = copy.deepcopy(solution)
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    code_number = 0
    for index, cell in enumerate(nb.cells):
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        code_number += 1
        cell.outputs, cell.execution_count = [], None
        if (exercise_id := notebooks.answer_id(cell)) is not None:
            cell.metadata[notebooks.METADATA_KEY].pop("wrong_answers", None)
            cell.source = strip_solutions(cell.source, exercise_id, f"{path}: cell {index}")
        elif (exercise_id := notebooks.check_id(cell)) is not None:
            cell.execution_count = code_number
            pass_line = checks.pass_line(exercise_id) + "\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=pass_line)]
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    """The file text of a notebook, exactly as ``nbformat.write`` writes it."""
    return nbformat.writes(nb) + "\n"


def generate(solution_path: Path) -> str:
    """The file text of the exercise notebook for ``solution_path``."""
    return render(exercise_notebook(notebooks.read_notebook(solution_path), solution_path))


@dataclass(frozen=True)
class Plan:
    """What ``exercises_dir`` needs to match ``solutions_dir``."""

    expected: dict[Path, str]  # exercise path -> generated text, for every solution notebook
    stale: list[Path]  # exercise paths missing or different from the generated text
    orphans: list[Path]  # exercise notebooks without a solution notebook


def plan(solutions_dir: Path, exercises_dir: Path) -> Plan:
    """Generate every exercise notebook in memory and compare with what is on disk."""
    if not solutions_dir.is_dir():
        raise CourseError(f"{solutions_dir}: no such folder (expected the solution notebooks here)")
    expected = {
        exercises_dir / path.name: generate(path) for path in sorted(solutions_dir.glob("*.ipynb"))
    }
    stale = [
        path
        for path, text in expected.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    orphans = sorted(set(exercises_dir.glob("*.ipynb")) - expected.keys())
    return Plan(expected, stale, orphans)


def write(plan_: Plan) -> None:
    """Write the stale exercise notebooks of a plan."""
    for path in plan_.stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(plan_.expected[path], encoding="utf-8")


def command(solutions_dir: Path, exercises_dir: Path, *, check_only: bool) -> int:
    """``kafkalab make-exercises``: write (or with ``check_only`` report) stale exercise notebooks.

    Returns the exit code: 1 if ``check_only`` found anything stale or orphaned, else 0.
    """
    found = plan(solutions_dir, exercises_dir)
    if not found.expected:
        print(f"no solution notebooks (*.ipynb) in {solutions_dir}; nothing to generate")
    for path in found.orphans:
        print(f"{path}: has no solution notebook in {solutions_dir}; delete it or add the solution")
    if check_only:
        for path in found.stale:
            state = "stale" if path.is_file() else "missing"
            print(f"{path}: {state}; run `kafkalab make-exercises`")
        return 1 if found.stale or found.orphans else 0
    write(found)
    unchanged = len(found.expected) - len(found.stale)
    print(
        f"wrote {len(found.stale)} exercise notebook(s) to {exercises_dir}, "
        f"{unchanged} already up to date"
    )
    return 0
