"""The check framework: the pass line, failure messages, lesson check registration."""

import sys

import pytest

import kafkalab.course
from kafkalab.course import checks


@pytest.fixture
def registry(monkeypatch):
    """An empty lesson check registry for the test."""
    monkeypatch.setattr(checks, "_LESSON_CHECKS", {})
    return checks._LESSON_CHECKS


def test_check_prints_exactly_the_pass_line(capsys):
    checks.check("01.2", True, "unused")
    checks.expect_equal("01.3", [1], [1], "unused")
    assert capsys.readouterr() == ("✅ 01.2 passed\n✅ 01.3 passed\n", "")


def test_failures_raise_the_hint_and_print_nothing(capsys):
    with pytest.raises(AssertionError, match="^❌ 01.2: send three records$"):
        checks.check("01.2", False, "send three records")
    with pytest.raises(AssertionError, match=r"^❌ 01.2: count \(expected 3, got 2\)$"):
        checks.expect_equal("01.2", 2, 3, "count")
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("bad", ["1.2", "01", "01.x", "lesson 01.2", 1.2])
def test_bad_exercise_ids_are_rejected_with_the_allowed_form(bad):
    with pytest.raises(ValueError, match="two-digit lesson number, a dot and an exercise number"):
        checks.pass_line(bad)


def test_run_uses_the_registered_check(registry, capsys):
    @checks.lesson_check("98.1")
    def is_even(number):
        return None if number % 2 == 0 else f"{number} is odd"

    checks.run("98.1", 4)
    assert capsys.readouterr().out == "✅ 98.1 passed\n"
    with pytest.raises(AssertionError, match="^❌ 98.1: 3 is odd$"):
        checks.run("98.1", 3)


def test_run_imports_the_lesson_module_on_first_use(registry, monkeypatch, tmp_path, capsys):
    (tmp_path / "lesson98.py").write_text(
        "from kafkalab.course.checks import lesson_check\n"
        "@lesson_check('98.2')\n"
        "def always(): return None\n"
    )
    monkeypatch.setattr(kafkalab.course, "__path__", [*kafkalab.course.__path__, str(tmp_path)])
    try:
        checks.run("98.2")
    finally:
        sys.modules.pop("kafkalab.course.lesson98", None)
    assert capsys.readouterr().out == "✅ 98.2 passed\n"


def test_unknown_exercise_says_which_are_registered(registry):
    checks.lesson_check("98.1")(lambda: None)
    with pytest.raises(ValueError, match="no check is registered for exercise 98.7; .* 98: 98.1"):
        checks.run("98.7")


def test_a_second_function_for_one_exercise_is_refused(registry):
    def first():
        return None

    checks.lesson_check("98.1")(first)
    checks.lesson_check("98.1")(first)  # re-running the same registration is fine
    with pytest.raises(ValueError, match="already has a check"):
        checks.lesson_check("98.1")(lambda: None)


def test_a_failed_check_shows_only_its_hint_in_a_notebook(python3_kernel):
    """In Jupyter the learner sees the hint as the cell's error, without a traceback through
    kafkalab.course.checks; the cell still fails (so nbval and the grader count it)."""
    import nbclient
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from kafkalab.course import checks\n"
        "checks.expect_equal('01.2', 2, 3, 'send three records')")])
    client = nbclient.NotebookClient(notebook, kernel_name=python3_kernel, timeout=60,
                                     allow_errors=True)
    client.execute()
    (error,) = [o for o in notebook.cells[0].outputs if o.output_type == "error"]
    shown = [line for line in error.traceback if line.strip()]
    assert len(shown) == 1 and "checks.py" not in shown[0]
    assert "❌ 01.2: send three records (expected 3, got 2)" in shown[0]
    assert error.evalue == "❌ 01.2: send three records (expected 3, got 2)"


def test_a_lesson_with_a_letter_has_ids_of_its_own(capsys):
    """02b-transactions follows 02-producers: its exercises are 02b.N, checked by lesson02b."""
    assert checks.lesson_of("02b.1") == "02b" and checks.lesson_of("07.3") == "07"
    checks.check("02b.1", True, "never shown")
    assert capsys.readouterr().out == "✅ 02b.1 passed\n"
    assert checks._lesson_check_for("02b.3").__module__ == "kafkalab.course.lesson02b"
    with pytest.raises(ValueError, match="two-digit lesson number"):
        checks.pass_line("02bb.1")
