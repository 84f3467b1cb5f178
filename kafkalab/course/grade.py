"""Grade a learner's exercise notebooks (``kafkalab grade PATH [--pristine DIR]``).

For each learner notebook, the pristine exercise notebook of the same file name is copied and
only the *sources of its answer cells* are replaced by the learner's (matched by exercise id, in
order). Everything else, check cells included, comes from the pristine copy, so nothing the
learner saved (an edited check, a stored output) can become the reference; code the learner
wrote outside answer cells is not run. The spliced notebooks run under nbval in a temporary
folder (``nbval_run``); an exercise passes iff all its answer cells and its check cell pass.

This guards against stale or edited outputs, not against answer code that tampers with the
checks module on purpose.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from kafkalab.course import notebooks, paths
from kafkalab.course.nbval_run import CELL_TIMEOUT_S, CellOutcome, run_notebooks
from kafkalab.course.notebooks import CourseError, Exercise


@dataclass(frozen=True)
class ExerciseGrade:
    exercise_id: str
    answer_passed: bool  # every answer cell ran without error (False if the learner's is missing)
    check_passed: bool
    message: str  # "" if it passed, else the first problem: splicing, then answer, then check

    @property
    def passed(self) -> bool:
        return self.answer_passed and self.check_passed


@dataclass(frozen=True)
class NotebookGrade:
    name: str
    exercises: list[ExerciseGrade]


@dataclass(frozen=True)
class Spliced:
    """A learner notebook spliced into its pristine notebook, ready to run."""

    name: str
    nb: nbformat.NotebookNode
    exercises: dict[str, Exercise]
    problems: dict[str, str]  # exercise id -> why the learner's answer cells could not be used


def command(path: Path, pristine_dir: Path | None) -> int:
    """``kafkalab grade``: print the score table; exit code 0 iff every exercise passed."""
    pristine_dir = pristine_dir or paths.EXERCISES_DIR
    if not pristine_dir.is_dir():
        raise CourseError(f"{pristine_dir}: no such folder (expected the exercise notebooks here)")
    grades = grade(learner_notebooks(path, pristine_dir), pristine_dir)
    print(report(grades))
    return 0 if all(e.passed for notebook in grades for e in notebook.exercises) else 1


def learner_notebooks(path: Path, pristine_dir: Path) -> list[Path]:
    """The notebooks to grade: PATH itself, or those in folder PATH named like a pristine one."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CourseError(f"{path}: no such file or folder; give an exercise notebook or a folder")
    found = [p for p in sorted(path.glob("*.ipynb")) if (pristine_dir / p.name).is_file()]
    if not found:
        raise CourseError(
            f"{path}: no notebook here has the name of an exercise notebook in {pristine_dir} "
            f"({_available(pristine_dir)})"
        )
    return found


def grade(
    learner_paths: list[Path], pristine_dir: Path, *, cell_timeout_s: int = CELL_TIMEOUT_S
) -> list[NotebookGrade]:
    """Grade learner notebooks against ``pristine_dir``, all in one nbval run."""
    if len({path.name for path in learner_paths}) != len(learner_paths):
        raise CourseError("grade notebooks with distinct file names, one per exercise notebook")
    spliced = [splice_file(path, pristine_dir) for path in learner_paths]
    with tempfile.TemporaryDirectory(prefix="kafkalab-grade-") as folder:
        for notebook in spliced:
            nbformat.write(notebook.nb, Path(folder) / notebook.name)
        outcomes = run_notebooks(
            [Path(folder) / notebook.name for notebook in spliced], cell_timeout_s=cell_timeout_s
        )
    return [_grade_notebook(notebook, outcomes[notebook.name]) for notebook in spliced]


def splice_file(learner_path: Path, pristine_dir: Path) -> Spliced:
    """Read a learner notebook and its pristine twin (same file name) and splice them."""
    pristine_path = pristine_dir / learner_path.name
    if not pristine_path.is_file():
        raise CourseError(
            f"{learner_path}: no exercise notebook named {learner_path.name} in {pristine_dir} "
            f"(keep the exercise notebook's file name; {_available(pristine_dir)})"
        )
    pristine = notebooks.read_notebook(pristine_path)
    exercises = notebooks.exercises(pristine, pristine_path)
    learner = notebooks.read_notebook(learner_path)
    nb, problems = splice(learner, pristine, exercises, learner_path)
    return Spliced(learner_path.name, nb, exercises, problems)


def splice(
    learner: nbformat.NotebookNode,
    pristine: nbformat.NotebookNode,
    exercises: dict[str, Exercise],
    where: Path,
) -> tuple[nbformat.NotebookNode, dict[str, str]]:
    """A copy of ``pristine`` with the learner's answer sources, and the exercises left unfilled.

    An exercise for which the learner has fewer or more answer cells than the pristine notebook
    keeps the pristine answer cells (which raise NotImplementedError) and gets a problem message.
    """
    answers = notebooks.answer_cells(learner)
    if unknown := sorted(answers.keys() - exercises.keys()):
        raise CourseError(
            f"{where}: answer cells for unknown exercise(s) {', '.join(unknown)}; this notebook's "
            f"exercises are {', '.join(exercises)} (is it the right notebook?)"
        )
    spliced = copy.deepcopy(pristine)
    problems: dict[str, str] = {}
    for exercise_id, exercise in exercises.items():
        mine = answers.get(exercise_id, [])
        if len(mine) != len(exercise.answer_cells):
            problems[exercise_id] = (
                f"your notebook has {len(mine)} answer cell(s) for {exercise_id}, the exercise has "
                f"{len(exercise.answer_cells)} (code cells with metadata "
                f'{{"kafkalab": {{"answer": "{exercise_id}"}}}}); restore them from the exercise '
                f"notebook"
            )
            continue
        for target, source in zip(exercise.answer_cells, mine):
            spliced.cells[target].source = learner.cells[source].source
    return spliced, problems


def report(grades: list[NotebookGrade]) -> str:
    """The score table: per notebook, one row per exercise, then the total."""
    lines = []
    for notebook in grades:
        lines.append(notebook.name)
        width = max(len(e.exercise_id) for e in notebook.exercises)
        for e in notebook.exercises:
            mark = "✅" if e.passed else "❌"
            lines.append(f"  {e.exercise_id:<{width}}  {mark}  {e.message}".rstrip())
    results = [e.passed for notebook in grades for e in notebook.exercises]
    lines.append(f"{sum(results)}/{len(results)} exercises passed")
    return "\n".join(lines)


def _grade_notebook(spliced: Spliced, outcomes: dict[int, CellOutcome]) -> NotebookGrade:
    never_ran = CellOutcome(False, message="the cell did not run (the kernel died or pytest quit)")
    code_cells = [index for index, cell in enumerate(spliced.nb.cells) if cell.cell_type == "code"]
    by_index = {index: outcomes.get(number, never_ran) for number, index in enumerate(code_cells)}
    grades = []
    for exercise_id, exercise in spliced.exercises.items():
        answers = [by_index[index] for index in exercise.answer_cells]
        failed_answer = next((outcome for outcome in answers if not outcome.passed), None)
        check = by_index[exercise.check_cell]
        if exercise_id in spliced.problems:
            message = spliced.problems[exercise_id]
        elif failed_answer is not None:
            message = _describe(failed_answer, "your answer cell failed: ")
        else:
            message = "" if check.passed else _describe(check, "")
        answer_passed = exercise_id not in spliced.problems and failed_answer is None
        grades.append(ExerciseGrade(exercise_id, answer_passed, check.passed, message))
    return NotebookGrade(spliced.name, grades)


def _describe(outcome: CellOutcome, prefix: str) -> str:
    """The first line of why a cell failed; a check's hint loses its ``❌ NN.M:`` prefix."""
    if outcome.ename == "NotImplementedError":
        return f"not answered yet ({outcome.message})"
    if outcome.ename in ("AssertionError", "CheckFailed") and outcome.message.startswith("❌ "):
        text = outcome.message.partition(": ")[2]
    elif outcome.ename:
        text = f"{outcome.ename}: {outcome.message}"
    elif outcome.message == "Cell outputs differ":
        text = f"the check printed {outcome.printed[:200]!r} instead of its pass line"
    else:
        text = outcome.message
    return prefix + (text.strip().splitlines() or ["failed"])[0]


def _available(pristine_dir: Path) -> str:
    names = sorted(path.name for path in pristine_dir.glob("*.ipynb"))
    return f"exercise notebooks there: {', '.join(names) or 'none'}"
