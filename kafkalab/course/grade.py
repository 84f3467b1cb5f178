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
from kafkalab.course.nbval_run import CellOutcome, run_notebooks
from kafkalab.course.notebooks import CourseError, Exercise


@dataclass(frozen=True)
class ExerciseGrade:
    exercise_id: str
    answer_passed: bool  # every answer cell ran without error (False if the learner's is missing)
    check_passed: bool
    message: str  # why it failed ("" if it passed): the first problem found, in cell order

    @property
    def passed(self) -> bool:
        return self.answer_passed and self.check_passed


@dataclass(frozen=True)
class NotebookGrade:
    name: str
    exercises: list[ExerciseGrade]


def pristine_for(learner: Path, pristine_dir: Path) -> Path:
    """The pristine exercise notebook for ``learner``; CourseError naming the allowed ones if none."""
    pristine = pristine_dir / learner.name
    if not pristine.is_file():
        available = ", ".join(sorted(p.name for p in pristine_dir.glob("*.ipynb"))) or "none"
        raise CourseError(
            f"{learner}: no exercise notebook named {learner.name} in {pristine_dir} "
            f"(keep the exercise notebook's file name); available: {available}"
        )
    return pristine


def splice(
    learner: nbformat.NotebookNode, pristine: nbformat.NotebookNode, exercises: dict[str, Exercise], where: Path
) -> tuple[nbformat.NotebookNode, dict[str, str]]:
    """The pristine notebook with the learner's answer sources, and a problem per unspliceable exercise.

    An exercise whose learner answer cells are missing or more than the pristine's keeps the
    pristine answer cells (which raise NotImplementedError) and gets a problem message.
    """
    answers = notebooks.answer_cells(learner)
    if unknown := sorted(answers.keys() - exercises.keys()):
        raise CourseError(
            f"{where}: answer cells for unknown exercise(s) {', '.join(unknown)}; this notebook's "
            f"exercises are {', '.join(exercises)} (is it the right notebook?)"
        )
    spliced = copy.deepcopy(pristine)
    problems: dict[str, str] = {}
    for exercise in exercises.values():
        mine = answers.get(exercise.exercise_id, [])
        if len(mine) != len(exercise.answer_cells):
            problems[exercise.exercise_id] = (
                f"your notebook has {len(mine)} answer cell(s) for {exercise.exercise_id}, the exercise "
                f"has {len(exercise.answer_cells)} (code cells with metadata "
                f'{{"kafkalab": {{"answer": "{exercise.exercise_id}"}}}}); restore them from the exercise notebook'
            )
            continue
        for target, source in zip(exercise.answer_cells, mine):
            spliced.cells[target].source = learner.cells[source].source
    return spliced, problems


def grade(learner_paths: list[Path], pristine_dir: Path) -> list[NotebookGrade]:
    """Grade learner notebooks (distinct file names) against ``pristine_dir``, running nbval once."""
    plans = []
    for learner_path in learner_paths:
        pristine_path = pristine_for(learner_path, pristine_dir)
        pristine = notebooks.read_notebook(pristine_path)
        exercises = notebooks.exercises(pristine, pristine_path)
        spliced, problems = splice(notebooks.read_notebook(learner_path), pristine, exercises, learner_path)
        plans.append((learner_path.name, spliced, exercises, problems))
    with tempfile.TemporaryDirectory(prefix="kafkalab-grade-") as folder:
        for name, spliced, _, _ in plans:
            nbformat.write(spliced, Path(folder) / name)
        outcomes = run_notebooks([Path(folder) / name for name, *_ in plans])
    return [
        _grade_notebook(name, spliced, exercises, problems, outcomes[name])
        for name, spliced, exercises, problems in plans
    ]


def learner_notebooks(path: Path, pristine_dir: Path) -> list[Path]:
    """The notebooks to grade for PATH: the file itself, or a folder's notebooks that have a pristine twin."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CourseError(f"{path}: no such file or folder; give an exercise notebook or a folder of them")
    found = [p for p in sorted(path.glob("*.ipynb")) if (pristine_dir / p.name).is_file()]
    if not found:
        available = ", ".join(sorted(p.name for p in pristine_dir.glob("*.ipynb"))) or "none"
        raise CourseError(f"{path}: no notebook here has the name of an exercise notebook in {pristine_dir}: {available}")
    return found


def report(grades: list[NotebookGrade]) -> str:
    """The score table: per notebook, one row per exercise, then the total."""
    lines = []
    for notebook in grades:
        lines.append(notebook.name)
        width = max(len(e.exercise_id) for e in notebook.exercises)
        for e in notebook.exercises:
            lines.append(f"  {e.exercise_id:<{width}}  {'✅' if e.passed else '❌'}  {e.message}".rstrip())
    results = [e.passed for notebook in grades for e in notebook.exercises]
    lines.append(f"{sum(results)}/{len(results)} exercises passed")
    return "\n".join(lines)


def command(path: Path, pristine_dir: Path | None) -> int:
    """``kafkalab grade``: print the score table; exit code 0 iff every exercise passed."""
    pristine_dir = pristine_dir or paths.EXERCISES_DIR
    if not pristine_dir.is_dir():
        raise CourseError(f"{pristine_dir}: no such folder (expected the pristine exercise notebooks here)")
    grades = grade(learner_notebooks(path, pristine_dir), pristine_dir)
    print(report(grades))
    return 0 if all(e.passed for notebook in grades for e in notebook.exercises) else 1


def _grade_notebook(
    name: str,
    nb: nbformat.NotebookNode,
    exercises: dict[str, Exercise],
    problems: dict[str, str],
    outcomes: dict[int, CellOutcome],
) -> NotebookGrade:
    code_cells = [index for index, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    never_ran = CellOutcome(False, message="the cell did not run (the kernel died or pytest stopped)")
    by_index = {index: outcomes.get(number, never_ran) for number, index in enumerate(code_cells)}
    grades = []
    for exercise_id, exercise in exercises.items():
        failed_answer = next((by_index[i] for i in exercise.answer_cells if not by_index[i].passed), None)
        check = by_index[exercise.check_cell]
        if exercise_id in problems:
            message = problems[exercise_id]
        elif failed_answer is not None:
            message = _describe(failed_answer, "your answer cell failed: ")
        else:
            message = "" if check.passed else _describe(check, "")
        answer_passed = exercise_id not in problems and failed_answer is None
        grades.append(ExerciseGrade(exercise_id, answer_passed, check.passed, message))
    return NotebookGrade(name, grades)


def _describe(outcome: CellOutcome, prefix: str) -> str:
    """The first line of why a cell failed; a check's hint loses its ``❌ NN.M:`` prefix."""
    if outcome.ename == "NotImplementedError":
        return f"not answered yet ({outcome.message})"
    if outcome.ename == "AssertionError" and outcome.message.startswith("❌ "):
        text = outcome.message.partition(": ")[2]
    elif outcome.ename:
        text = f"{outcome.ename}: {outcome.message}"
    elif outcome.message == "Cell outputs differ":
        text = f"the check printed {outcome.printed!r} instead of its pass line"
    else:
        text = outcome.message
    return prefix + (text.strip().splitlines() or ["failed"])[0]
