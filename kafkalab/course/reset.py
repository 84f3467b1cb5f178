"""``kafkalab reset``: put course notebooks back as the course ships them, keeping a backup.

Running a notebook in JupyterLab saves its outputs and the learner's edits into the file. Reset
writes the pristine version back:

* a lesson notebook (``notebooks/*.ipynb``): the version of the last commit (``git show
  HEAD:<path>``); outside a git checkout, the same file with its outputs cleared (edits stay,
  and the command says so);
* an exercise notebook (``exercises/*.ipynb``): generated again from its solution, exactly as
  ``kafkalab make-exercises`` writes it (the learner's answers go to the backup).

With no path, every lesson notebook is reset; exercises only when named, since they hold answers.
A file that differs from its pristine version is first copied to
``.kafkalab/backup/<time>/<same path>``, so nothing is lost.

Invariant: a file is overwritten only after its backup is written, and only with a pristine text.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import make_exercises, paths
from .notebooks import CourseError, read_notebook


@dataclass(frozen=True)
class Course:
    """The course's folders under one root (the repository; a copy of it in tests)."""

    root: Path

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def exercises(self) -> Path:
        return self.root / paths.EXERCISES_DIR.name

    @property
    def solutions(self) -> Path:
        return self.root / paths.SOLUTIONS_DIR.name

    @property
    def backups(self) -> Path:
        return self.root / ".kafkalab" / "backup"

    def shown(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class Pristine:
    text: str
    exact: bool  # False: only outputs were cleared (no committed version to go back to)


def pristine(course: Course, path: Path) -> Pristine:
    """The text ``path`` (a course notebook, resolved) should have."""
    if path.parent == course.exercises:
        solution = course.solutions / path.name
        if not solution.is_file():
            raise CourseError(f"{course.shown(path)}: no solution notebook "
                              f"{course.shown(solution)} to generate it from; exercises are "
                              "made from solutions/")
        return Pristine(make_exercises.generate(solution), exact=True)
    committed = _committed_text(course.root, path)
    if committed is not None:
        return Pristine(committed, exact=True)
    nb = read_notebook(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return Pristine(make_exercises.render(nb), exact=False)


def _committed_text(root: Path, path: Path) -> str | None:
    relative = path.relative_to(root).as_posix()
    try:
        shown = subprocess.run(["git", "-C", str(root), "show", f"HEAD:{relative}"],
                               capture_output=True, check=False)
    except OSError:  # no git on this machine
        return None
    return shown.stdout.decode("utf-8") if shown.returncode == 0 else None


def course_notebook(course: Course, path: Path) -> Path:
    """``path`` resolved, if it is a notebook of notebooks/ or exercises/; else CourseError."""
    resolved = path.resolve()
    if resolved.suffix != ".ipynb" or resolved.parent not in (course.notebooks,
                                                              course.exercises):
        raise CourseError(f"{path}: not a course notebook; reset takes notebooks/*.ipynb or "
                          "exercises/*.ipynb (or a folder: notebooks, exercises)")
    if not resolved.is_file():
        raise CourseError(f"{path}: no such notebook file")
    return resolved


def targets(course: Course, args: list[Path]) -> list[Path]:
    """The notebooks named (a folder names all of its notebooks); default: the lessons."""
    found: list[Path] = []
    for arg in args or [course.notebooks]:
        resolved = arg.resolve()
        if resolved in (course.notebooks, course.exercises):
            found.extend(sorted(resolved.glob("*.ipynb")))
        elif resolved.is_dir():
            raise CourseError(f"{arg}: reset takes the folders notebooks and exercises, or "
                              "notebooks in them")
        else:
            found.append(course_notebook(course, arg))
    return list(dict.fromkeys(found))


def reset(course: Course, path: Path, backup_root: Path) -> str:
    """Reset one course notebook; returns the line to print."""
    target = pristine(course, path)
    current = path.read_text(encoding="utf-8")
    if _same_notebook(current, target.text):
        return f"{course.shown(path)}: already as the course ships it"
    backup = backup_root / path.relative_to(course.root)
    backup.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, backup)
    path.write_text(target.text, encoding="utf-8")
    kept = "" if target.exact else " (outputs cleared; your edits kept: no committed version)"
    return f"{course.shown(path)}: reset{kept}; your copy is in {course.shown(backup)}"


def _same_notebook(a: str, b: str) -> bool:
    """Equal as notebooks (JupyterLab re-saving changes only the file's formatting)."""
    if a == b:
        return True
    try:
        return nbformat.reads(a, as_version=4) == nbformat.reads(b, as_version=4)
    except Exception:  # an unreadable file is not pristine
        return False


def command(args: list[Path], root: Path = paths.REPO_ROOT) -> int:
    """``kafkalab reset [PATH...]``: print one line per notebook; exit code 0."""
    course = Course(root.resolve())
    notebooks = targets(course, args)  # every path checked before anything is written
    if not notebooks:
        print("no notebooks to reset")
    backup_root = course.backups / dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    for path in notebooks:
        print(reset(course, path, backup_root))
    return 0
