"""What exercise check cells call.

Contract (fixed; the generator and the grader rely on it):

- A check either prints exactly one line, ``pass_line(exercise_id)`` = ``✅ 01.2 passed``, and
  nothing else, or raises ``AssertionError("❌ 01.2: <hint>")`` and prints nothing. The pass line
  is stored in the generated exercise notebook and compared by ``pytest --nbval-lax``, so a check
  must not print anything else (stderr counts too).
- Exercise ids look like ``01.2``: two-digit lesson number, dot, exercise number. A lesson
  that follows another takes a letter after the number (``02b.1``, of ``02b-transactions``).

Inline checks, for a one-line condition, straight in the check cell::

    # NBVAL_CHECK_OUTPUT
    from kafkalab.course import checks
    checks.expect_equal("01.2", len(records), 3, "send exactly three records")

Lesson-specific checks, for anything longer, live in ``kafkalab/course/lessonNN.py`` (``NN`` is
the lesson number of the exercise id). Such a module registers one function per exercise with
``@lesson_check``; the function returns ``None`` when the answer is right and a hint string when
it is wrong, and never prints::

    # kafkalab/course/lesson01.py
    from kafkalab.course.checks import lesson_check

    @lesson_check("01.2")
    def producer_sent_three(records):
        if len(records) != 3:
            return f"send exactly three records, not {len(records)}"
        return None

The check cell then calls it through ``run``, which imports ``lessonNN`` on first use::

    # NBVAL_CHECK_OUTPUT
    from kafkalab.course import checks
    checks.run("01.2", records)
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any, NoReturn

EXERCISE_ID = re.compile(r"\d{2}[a-z]?\.\d+")

LessonCheck = Callable[..., str | None]
_LESSON_CHECKS: dict[str, LessonCheck] = {}


def validate_id(exercise_id: str) -> str:
    """Return ``exercise_id`` if it has the form ``NN.M``; raise ValueError saying so otherwise."""
    if not isinstance(exercise_id, str) or not EXERCISE_ID.fullmatch(exercise_id):
        raise ValueError(
            f"bad exercise id {exercise_id!r}: an exercise id is a two-digit lesson number, "
            f"a dot and an exercise number, like '01.2' (a lesson such as 02b takes its letter: "
            f"'02b.1')"
        )
    return exercise_id


def lesson_of(exercise_id: str) -> str:
    """The lesson part of an exercise id: ``01`` of ``01.2``, ``02b`` of ``02b.1``."""
    return validate_id(exercise_id).split(".")[0]


def pass_line(exercise_id: str) -> str:
    """The one line a passing check prints (without the newline)."""
    return f"✅ {validate_id(exercise_id)} passed"


def passed(exercise_id: str) -> None:
    """Print the pass line of ``exercise_id``."""
    print(pass_line(exercise_id))


class CheckFailed(AssertionError):
    """A failed exercise check: an AssertionError whose message is the hint (``❌ 01.2: ...``).

    In Jupyter it shows as that one line, not under a traceback through kafkalab's own code:
    IPython displays what ``_render_traceback_`` returns instead of the traceback. The cell still
    fails, so nbval and the grader see the failure and its message.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[1;31m{self}\x1b[0m"]


def fail(exercise_id: str, hint: str) -> NoReturn:
    """Raise the AssertionError (a :class:`CheckFailed`) a failing check raises."""
    raise CheckFailed(f"❌ {validate_id(exercise_id)}: {hint}")


def check(exercise_id: str, condition: object, hint: str) -> None:
    """Pass if ``condition`` is truthy, else fail with ``hint``."""
    if not condition:
        fail(exercise_id, hint)
    passed(exercise_id)


def expect_equal(exercise_id: str, actual: Any, expected: Any, hint: str) -> None:
    """Pass if ``actual == expected``, else fail with ``hint`` and both values."""
    if actual != expected:
        fail(exercise_id, f"{hint} (expected {expected!r}, got {actual!r})")
    passed(exercise_id)


def lesson_check(exercise_id: str) -> Callable[[LessonCheck], LessonCheck]:
    """Decorator registering the check function of ``exercise_id``; returns the function unchanged.

    Registering a second, different function for one id raises ValueError; registering the same
    function again (a re-run notebook cell, a reloaded module) replaces it.
    """
    validate_id(exercise_id)

    def register(function: LessonCheck) -> LessonCheck:
        known = _LESSON_CHECKS.get(exercise_id)
        if known is not None and _qualified_name(known) != _qualified_name(function):
            raise ValueError(
                f"exercise {exercise_id} already has a check, {_qualified_name(known)}; "
                f"cannot register {_qualified_name(function)} too"
            )
        _LESSON_CHECKS[exercise_id] = function
        return function

    return register


def run(exercise_id: str, *args: Any, **kwargs: Any) -> None:
    """Run the registered check of ``exercise_id``: None passes, a returned hint fails."""
    hint = _lesson_check_for(exercise_id)(*args, **kwargs)
    check(exercise_id, hint is None, hint)


def _lesson_check_for(exercise_id: str) -> LessonCheck:
    validate_id(exercise_id)
    if exercise_id not in _LESSON_CHECKS:
        module = f"{__package__}.lesson{lesson_of(exercise_id)}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise
    if exercise_id not in _LESSON_CHECKS:
        number = lesson_of(exercise_id)
        lesson = sorted(known for known in _LESSON_CHECKS if lesson_of(known) == number)
        raise ValueError(
            f"no check is registered for exercise {exercise_id}; registered exercises of lesson "
            f"{number}: {', '.join(lesson) or 'none'} "
            f"(register one with @lesson_check in {__package__}.lesson{number})"
        )
    return _LESSON_CHECKS[exercise_id]


def _qualified_name(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"
