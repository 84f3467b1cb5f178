"""`kafkalab reset`: a learner who ran and edited notebooks gets the course back, losing nothing."""
import shutil
import subprocess

import nbformat
import pytest

from kafkalab.cli import main
from kafkalab.course import make_exercises, paths, reset
from kafkalab.course.notebooks import CourseError

LESSON = "00-start-here.ipynb"
EXERCISE = "01-topics-partitions-offsets.ipynb"


def git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def course(tmp_path):
    """A copy of the course with one lesson, one exercise and its solution, committed."""
    root = tmp_path / "course"
    for folder, name in (("notebooks", LESSON), ("notebooks", EXERCISE),
                         ("solutions", EXERCISE), ("exercises", EXERCISE)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths.REPO_ROOT / folder / name, root / folder / name)
    (root / "exercises" / EXERCISE).write_text(
        make_exercises.generate(root / "solutions" / EXERCISE), encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "course")
    return root


def run_in_jupyterlab(path, edit: str = "") -> str:
    """What JupyterLab leaves in the file: outputs, execution counts, maybe an edit."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for count, cell in enumerate(code, 1):
        cell.execution_count = count
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
    if edit:
        code[0].source += "\n" + edit
    nbformat.write(nb, path)
    return path.read_text(encoding="utf-8")


def backups(root):
    return sorted(p.relative_to(root / ".kafkalab" / "backup").parts[1:]
                  for p in (root / ".kafkalab" / "backup").rglob("*.ipynb"))


def test_reset_puts_a_run_lesson_back_as_committed_and_keeps_the_learners_copy(course, capsys):
    lesson = course / "notebooks" / LESSON
    committed = lesson.read_text(encoding="utf-8")
    ran = run_in_jupyterlab(lesson, edit="print('my experiment')")
    assert reset.command([], root=course) == 0
    assert lesson.read_text(encoding="utf-8") == committed
    [backup] = (course / ".kafkalab" / "backup").rglob(LESSON)
    assert backup.read_text(encoding="utf-8") == ran          # outputs and edit kept there
    out = capsys.readouterr().out
    assert f"notebooks/{LESSON}: reset; your copy is in .kafkalab/backup/" in out


def test_without_a_name_exercises_are_left_alone_they_hold_answers(course):
    exercise = course / "exercises" / EXERCISE
    answered = run_in_jupyterlab(exercise, edit="answer = 42")
    reset.command([], root=course)
    assert exercise.read_text(encoding="utf-8") == answered


def test_a_named_exercise_is_generated_again_from_its_solution(course, capsys):
    exercise = course / "exercises" / EXERCISE
    answered = run_in_jupyterlab(exercise, edit="answer = 42")
    reset.command([exercise], root=course)
    assert exercise.read_text(encoding="utf-8") == \
        make_exercises.generate(course / "solutions" / EXERCISE)
    assert backups(course) == [("exercises", EXERCISE)]
    [backup] = (course / ".kafkalab" / "backup").rglob(EXERCISE)
    assert backup.read_text(encoding="utf-8") == answered
    assert "exercises/" + EXERCISE + ": reset" in capsys.readouterr().out


def test_a_pristine_notebook_is_not_touched_nor_backed_up(course, capsys):
    reset.command([course / "notebooks", course / "exercises"], root=course)
    assert not (course / ".kafkalab").exists()
    assert capsys.readouterr().out.count("already as the course ships it") == 3


def test_outside_git_outputs_are_cleared_and_the_learner_is_told_edits_stay(course, capsys):
    shutil.rmtree(course / ".git")
    lesson = course / "notebooks" / LESSON
    run_in_jupyterlab(lesson, edit="print('my experiment')")
    reset.command([lesson], root=course)
    nb = nbformat.read(lesson, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert "print('my experiment')" in code[0].source
    assert "outputs cleared; your edits kept: no committed version" in capsys.readouterr().out


@pytest.mark.parametrize("bad, message", [
    ("README.md", "not a course notebook; reset takes notebooks/\\*.ipynb or exercises"),
    ("notebooks/99-missing.ipynb", "no such notebook file"),
    ("solutions", "reset takes the folders notebooks and exercises"),
])
def test_a_bad_path_is_refused_before_anything_is_written(course, bad, message):
    lesson = course / "notebooks" / LESSON
    ran = run_in_jupyterlab(lesson)
    (course / "README.md").write_text("hi")
    with pytest.raises(CourseError, match=message):
        reset.command([lesson, course / bad], root=course)
    assert lesson.read_text(encoding="utf-8") == ran          # the good path was not reset
    assert not (course / ".kafkalab").exists()


def test_the_command_line_says_what_was_wrong(capsys):
    assert main(["reset", "README.md"]) == 2
    assert "kafkalab reset: error: README.md: not a course notebook" in capsys.readouterr().err
