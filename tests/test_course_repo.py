"""The repo's solutions/ and exercises/ notebooks keep the course contract (DESIGN §4, §5).

Parametrized over solutions/*.ipynb; each test runs at most one nbval subprocess.
"""

import copy

import nbformat
import pytest

from kafkalab.course import checks, grade, make_exercises, notebooks, paths
from kafkalab.course.nbval_run import run_notebooks

SOLUTIONS = sorted(paths.SOLUTIONS_DIR.glob("*.ipynb"))
each_solution = pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda path: path.name)


@each_solution
def test_exercise_notebook_is_generated_from_the_solution(solution):
    exercise = paths.EXERCISES_DIR / solution.name
    assert exercise.is_file(), f"{exercise} is missing; run `make exercises`"
    assert exercise.read_text(encoding="utf-8") == make_exercises.generate(solution), (
        f"{exercise} is stale; run `make exercises`"
    )


@each_solution
def test_solution_passes_nbval_and_checks_print_their_pass_line(solution):
    nb = notebooks.read_notebook(solution)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    outcomes = run_notebooks([solution])[solution.name]
    failures = [
        f"cell {number}: {outcome.ename or 'failed'}: {outcome.message}"
        for number, outcome in sorted(outcomes.items())
        if not outcome.passed
    ]
    assert not failures, "\n".join(failures)
    assert sorted(outcomes) == list(range(len(code_cells)))
    for number, cell in enumerate(code_cells):
        if (exercise_id := notebooks.check_id(cell)) is not None:
            assert outcomes[number].printed == checks.pass_line(exercise_id) + "\n", exercise_id


@each_solution
def test_unsolved_exercises_all_fail_at_their_own_check(solution):
    exercise = paths.EXERCISES_DIR / solution.name
    [graded] = grade.grade([exercise], paths.EXERCISES_DIR)
    passing = [e.exercise_id for e in graded.exercises if e.passed or e.check_passed]
    assert not passing, f"these checks pass on the unsolved notebook: {passing}"


@each_solution
def test_each_wrong_answer_fails_exactly_its_exercise(solution, tmp_path):
    """Round k splices the k-th wrong answer of every answer cell that has one into the solution."""
    nb = notebooks.read_notebook(solution)
    wrong = {
        index: notebooks.wrong_answers(cell)
        for index, cell in enumerate(nb.cells)
        if notebooks.answer_id(cell)
    }
    rounds = max(map(len, wrong.values()))
    assert rounds > 0, f"{solution.name}: give at least one answer cell wrong_answers metadata"
    pristine, learners = tmp_path / "pristine", tmp_path / "learners"
    pristine.mkdir(), learners.mkdir()
    expected_failures = {}
    for k in range(rounds):
        name = f"{solution.stem}-wrong-{k}.ipynb"
        (pristine / name).write_bytes((paths.EXERCISES_DIR / solution.name).read_bytes())
        learner = copy.deepcopy(nb)
        for index, variants in wrong.items():
            if len(variants) > k:
                learner.cells[index].source = variants[k]
        nbformat.write(learner, learners / name)
        expected_failures[name] = {
            notebooks.answer_id(nb.cells[index])
            for index, variants in wrong.items()
            if len(variants) > k
        }
    for graded in grade.grade(sorted(learners.glob("*.ipynb")), pristine):
        failing = {e.exercise_id for e in graded.exercises if not e.passed}
        assert failing == expected_failures[graded.name], grade.report([graded])
