"""Exercise generator and grader, on a fixture lesson (99) that uses only kafkalab.course.checks."""

import copy
from pathlib import Path

import nbformat
import pytest

from kafkalab import cli
from kafkalab.course import grade, make_exercises, notebooks

SOLUTIONS = Path(__file__).parent / "fixtures" / "course" / "solutions"
SOLUTION = SOLUTIONS / "99-fixture.ipynb"
PLACEHOLDER = 'raise NotImplementedError("Exercise {}: write your answer here")'


def cell(nb, cell_id):
    return next(c for c in nb.cells if c.id == cell_id)


def pass_output(exercise_id):
    return nbformat.v4.new_output("stream", name="stdout", text=f"✅ {exercise_id} passed\n")


@pytest.fixture(scope="module")
def pristine_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exercises")
    assert make_exercises.command(SOLUTIONS, folder, check_only=False) == 0
    return folder


@pytest.fixture(scope="module")
def exercise(pristine_dir):
    return notebooks.read_notebook(pristine_dir / SOLUTION.name)


@pytest.fixture
def solution():
    return notebooks.read_notebook(SOLUTION)


# --- generator ----------------------------------------------------------------------------


def test_solution_regions_become_the_placeholder_keeping_code_around_them(exercise):
    first, second = cell(exercise, "ex1-answer"), cell(exercise, "ex2-answer")
    assert first.source == "numbers = [1, 2, 3]\n" + PLACEHOLDER.format("99.1")
    assert second.source == (
        'def group(pairs):\n    """Collect the values of each key, in order."""\n'
        f"    {PLACEHOLDER.format('99.2')}\n\n\nprint(\"group() is defined\")"
    )
    assert first.metadata == {"kafkalab": {"answer": "99.1"}}  # wrong_answers removed


def test_only_check_cells_store_an_executed_pass_line(exercise):
    for c in exercise.cells:
        if c.cell_type != "code":
            continue
        exercise_id = notebooks.check_id(c)
        if exercise_id is None:
            assert (c.outputs, c.execution_count) == ([], None), c.id
        else:
            assert c.outputs == [pass_output(exercise_id)]
            assert isinstance(c.execution_count, int)


def test_output_depends_only_on_the_solution_content(solution, tmp_path):
    executed = copy.deepcopy(solution)  # as if an author saved it after running it
    executed.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    for number, c in enumerate(c for c in executed.cells if c.cell_type == "code"):
        c.execution_count = number + 1
        c.outputs = [nbformat.v4.new_output("stream", name="stdout", text="noise\n")]
        c.metadata["execution"] = {"iopub.execute_input": "2026-11-25T16:52:00.000Z"}
    nbformat.write(executed, tmp_path / SOLUTION.name)
    text = make_exercises.generate(SOLUTION)
    assert make_exercises.generate(tmp_path / SOLUTION.name) == text
    assert make_exercises.generate(SOLUTION) == text
    ids = [c.id for c in nbformat.reads(text, as_version=4).cells]
    assert ids == [c.id for c in solution.cells]


def test_check_mode_reports_missing_stale_and_orphaned_notebooks(tmp_path, capsys):
    generated = tmp_path / SOLUTION.name

    def check():
        code = make_exercises.command(SOLUTIONS, tmp_path, check_only=True)
        return code, capsys.readouterr().out

    assert check() == (1, f"{generated}: missing; run `kafkalab make-exercises`\n")
    argv = ["make-exercises", "--solutions", str(SOLUTIONS), "--exercises", str(tmp_path)]
    assert cli.main(argv) == 0
    assert "wrote 1 exercise notebook(s)" in capsys.readouterr().out
    assert check() == (0, "")
    generated.write_text(generated.read_text().replace("99.1 passed", "99.1 ok"))
    assert check() == (1, f"{generated}: stale; run `kafkalab make-exercises`\n")
    assert cli.main(argv) == 0
    (tmp_path / "99-old.ipynb").write_text("{}")
    code, out = check()
    assert code == 1 and "99-old.ipynb: has no solution notebook" in out


def _without_markers(nb):
    cell(nb, "ex1-answer").source = "total = 6"


def _unclosed_region(nb):
    cell(nb, "ex1-answer").source = "### BEGIN SOLUTION\ntotal = 6"


def _check_without_marker_comment(nb):
    cell(nb, "ex1-check").source = 'checks.check("99.1", True, "")'


def _answer_without_check(nb):
    nb.cells.remove(cell(nb, "ex1-check"))


def _check_before_answer(nb):
    nb.cells.remove(answer := cell(nb, "ex1-answer"))
    nb.cells.append(answer)


def _answer_after_check(nb):
    source, metadata = "### BEGIN SOLUTION\n### END SOLUTION", cell(nb, "ex1-answer").metadata
    nb.cells.append(nbformat.v4.new_code_cell(source, metadata=metadata))


def _id_of_another_lesson(nb):
    cell(nb, "ex1-answer").metadata["kafkalab"]["answer"] = "01.1"


def _no_exercises(nb):
    nb.cells = [c for c in nb.cells if "kafkalab" not in c.metadata]


def _no_cell_ids(nb):
    nb.nbformat_minor = 4
    for c in nb.cells:
        del c["id"]


@pytest.mark.parametrize(
    "break_it, message",
    [
        (_without_markers, "has no solution region; put the solution between lines"),
        (_unclosed_region, "'### BEGIN SOLUTION' without '### END SOLUTION' after it"),
        (_check_without_marker_comment, "the check of 99.1 must start '# NBVAL_CHECK_OUTPUT'"),
        (_answer_without_check, "no check cell for 99.1; an exercise is"),
        (_check_before_answer, "the check cell of 99.1 comes before any of its answer cells"),
        (_answer_after_check, "an answer cell of 99.1 after its check cell"),
        (_id_of_another_lesson, "exercise 01.1 is not of lesson 99"),
        (_no_exercises, "no exercises in this notebook; an exercise is one or more answer cells"),
        (_no_cell_ids, "cells need stable ids (nbformat 4.5 or newer)"),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else None,
)
def test_broken_solution_notebooks_are_refused_with_the_rule(
    solution, break_it, message, tmp_path, capsys
):
    break_it(solution)
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution, tmp_path / "solutions" / SOLUTION.name)
    argv = ["make-exercises", "--solutions", str(tmp_path / "solutions")]
    assert cli.main([*argv, "--exercises", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- grader -------------------------------------------------------------------------------
# Each scenario turns (a copy of the exercise notebook, a copy of the solution) into a learner's
# notebook; all are graded in one nbval run.


def _solved(exercise, solution):
    return solution


def _unsolved(exercise, solution):
    return exercise


def _only_99_2_solved(exercise, solution):
    cell(exercise, "ex2-answer").source = cell(solution, "ex2-answer").source
    return exercise


def _wrong_99_1(exercise, solution):
    answer = cell(solution, "ex1-answer")
    answer.source = notebooks.wrong_answers(answer)[0]
    return solution


def _wrong_99_2(exercise, solution):
    answer = cell(solution, "ex2-answer")
    answer.source = notebooks.wrong_answers(answer)[0]
    return solution


def _fake_pass(exercise, solution):
    """Unsolved, each check cell replaced by a print of its pass line and saved as executed."""
    for exercise_id, cell_id in (("99.1", "ex1-check"), ("99.2", "ex2-check")):
        check = cell(exercise, cell_id)
        check.source = f'# NBVAL_CHECK_OUTPUT\nprint("✅ {exercise_id} passed")'
        check.outputs, check.execution_count = [pass_output(exercise_id)], 1
    return exercise


def _answer_99_1_deleted(exercise, solution):
    solution.cells.remove(cell(solution, "ex1-answer"))
    return solution


def _answer_99_1_duplicated(exercise, solution):
    solution.cells.insert(0, copy.deepcopy(cell(solution, "ex1-answer")))
    solution.cells[0].id = "copy"
    return solution


def _scratch_cell_defines_99_1(exercise, solution):
    """Code outside answer cells is not graded: 99.1's answer is in a scratch cell."""
    solution.cells.insert(0, nbformat.v4.new_code_cell("total = 6"))
    cell(solution, "ex1-answer").source = "pass"
    return solution


SCENARIOS = {  # make the learner's notebook -> the exercises that should pass
    _solved: {"99.1", "99.2"},
    _unsolved: set(),
    _only_99_2_solved: {"99.2"},
    _wrong_99_1: {"99.2"},
    _wrong_99_2: {"99.1"},
    _fake_pass: set(),
    _answer_99_1_deleted: {"99.2"},
    _answer_99_1_duplicated: {"99.2"},
    _scratch_cell_defines_99_1: {"99.2"},
}


def scenario_name(make_learner):
    return f"99{make_learner.__name__.replace('_', '-')}.ipynb"


@pytest.fixture(scope="module")
def graded(pristine_dir, exercise, tmp_path_factory):
    """Exercise id -> ExerciseGrade, per scenario name; the pristine notebook copied per name."""
    pristine = tmp_path_factory.mktemp("pristine")
    learners = tmp_path_factory.mktemp("learners")
    for make_learner, name in zip(SCENARIOS, map(scenario_name, SCENARIOS)):
        (pristine / name).write_bytes((pristine_dir / SOLUTION.name).read_bytes())
        learner = make_learner(copy.deepcopy(exercise), notebooks.read_notebook(SOLUTION))
        nbformat.write(learner, learners / name)
    grades = grade.grade(grade.learner_notebooks(learners, pristine), pristine)
    return {g.name: {e.exercise_id: e for e in g.exercises} for g in grades}


@pytest.mark.parametrize("make_learner", SCENARIOS, ids=lambda f: f.__name__.strip("_"))
def test_each_exercise_is_graded_on_its_own(graded, make_learner):
    results = graded[scenario_name(make_learner)]
    assert {i for i, e in results.items() if e.passed} == SCENARIOS[make_learner], results
    for e in results.values():
        assert (e.message == "") == e.passed


def test_unsolved_exercises_fail_at_their_own_check(graded):
    for exercise_id, e in graded[scenario_name(_unsolved)].items():
        assert not e.check_passed
        assert e.message == f"not answered yet (Exercise {exercise_id}: write your answer here)"


def test_a_fake_pass_line_in_the_learner_notebook_is_not_trusted(graded):
    assert not any(e.check_passed for e in graded[scenario_name(_fake_pass)].values())


def test_a_wrong_answer_shows_its_check_hint(graded):
    wrong = graded[scenario_name(_wrong_99_1)]["99.1"]
    assert wrong.answer_passed and not wrong.check_passed
    assert wrong.message == "total should be the sum of numbers (expected 6, got 3)"
    hint = graded[scenario_name(_wrong_99_2)]["99.2"].message
    assert hint.startswith("group() should collect the values of each key in order")


def test_missing_or_extra_answer_cells_fail_only_that_exercise(graded):
    for make_learner, count in ((_answer_99_1_deleted, 0), (_answer_99_1_duplicated, 2)):
        message = graded[scenario_name(make_learner)]["99.1"].message
        assert message.startswith(f"your notebook has {count} answer cell(s) for 99.1, the")


def test_an_answer_that_never_returns_fails_only_its_own_exercise(pristine_dir, exercise, tmp_path):
    learner = copy.deepcopy(exercise)
    cell(learner, "ex1-answer").source = "while True:\n    pass"
    solved = cell(notebooks.read_notebook(SOLUTION), "ex2-answer")
    cell(learner, "ex2-answer").source = solved.source
    nbformat.write(learner, tmp_path / SOLUTION.name)
    [graded] = grade.grade([tmp_path / SOLUTION.name], pristine_dir, cell_timeout_s=2)
    first, second = graded.exercises
    assert first.message.startswith("your answer cell failed: Timeout of 2 seconds")
    assert second.passed


def test_report_lists_each_exercise_and_the_total(graded):
    results = graded[scenario_name(_wrong_99_1)]
    assert grade.report([grade.NotebookGrade("99-x.ipynb", list(results.values()))]) == (
        "99-x.ipynb\n"
        "  99.1  ❌  total should be the sum of numbers (expected 6, got 3)\n"
        "  99.2  ✅\n"
        "1/2 exercises passed"
    )


def test_cli_grades_a_solved_notebook_with_exit_0(pristine_dir, capsys):
    assert cli.main(["grade", str(SOLUTION), "--pristine", str(pristine_dir)]) == 0
    assert capsys.readouterr().out.endswith("2/2 exercises passed\n")


def test_cli_grades_a_folder_of_unsolved_notebooks_with_exit_1(pristine_dir, capsys):
    assert cli.main(["grade", str(pristine_dir), "--pristine", str(pristine_dir)]) == 1
    assert capsys.readouterr().out.endswith("0/2 exercises passed\n")


@pytest.fixture
def bad_inputs(tmp_path, exercise, solution):
    """Learner notebooks in tmp_path/learner, each wrong in the way its name says."""
    pristine, learner = tmp_path / "pristine", tmp_path / "learner"
    pristine.mkdir(), learner.mkdir()
    for name in ("99-unknown-id.ipynb", "99-not-json.ipynb"):
        nbformat.write(exercise, pristine / name)
    _no_exercises(solution)
    nbformat.write(solution, pristine / "99-no-exercises.ipynb")
    unknown = copy.deepcopy(exercise)
    cell(unknown, "ex1-answer").metadata["kafkalab"]["answer"] = "99.7"
    nbformat.write(unknown, learner / "99-unknown-id.ipynb")
    nbformat.write(exercise, learner / "99-no-exercises.ipynb")
    (learner / "99-not-json.ipynb").write_text("not json")
    (learner / "00-other.ipynb").write_text("{}")
    return tmp_path


@pytest.mark.parametrize(
    "path, message",
    [
        ("nope.ipynb", "nope.ipynb: no such file or folder; give an exercise notebook or a folder"),
        ("learner/00-other.ipynb", "no exercise notebook named 00-other.ipynb in"),
        ("learner/99-unknown-id.ipynb", "answer cells for unknown exercise(s) 99.7; this notebook"),
        ("learner/99-no-exercises.ipynb", "no exercises in this notebook;"),
        ("learner/99-not-json.ipynb", "not a Jupyter notebook"),
        ("pristine/99-not-json.ipynb", "no such folder (expected the exercise notebooks here)"),
    ],
)
def test_bad_grade_input_says_what_is_wrong(bad_inputs, path, message, capsys):
    pristine = bad_inputs / ("missing" if path.startswith("pristine") else "pristine")
    assert cli.main(["grade", str(bad_inputs / path), "--pristine", str(pristine)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kafkalab grade: error: ") and message in err, err


def test_a_folder_without_exercise_notebooks_says_which_names_are_expected(bad_inputs, capsys):
    (bad_inputs / "scratch").mkdir()
    argv = ["grade", str(bad_inputs / "scratch"), "--pristine", str(bad_inputs / "pristine")]
    assert cli.main(argv) == 2
    assert "no notebook here has the name of an exercise notebook in" in capsys.readouterr().err
