"""Cross-references name notebooks (DESIGN §4): a learner is pointed to ``03-consumers``, never to
"lesson 3", "the consumers lesson" or "a later lesson", and every notebook name mentioned is one
of the course map's.

Checked: every notebook in ``notebooks/`` and ``solutions/`` (each cell's source, markdown and
code), every ``.py`` file of ``kafkalab/`` (its docstrings, labels and comments) and README.md.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from kafkalab.course import paths
from notebook_text import COURSE_NOTEBOOKS

ROOT = paths.REPO_ROOT
FILES = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb"),
                *ROOT.glob("kafkalab/**/*.py"), ROOT / "README.md"])
# the course is built from one source lesson, "Урок 22: Kafka и Event Streaming": the one
# lesson number a text may use
SOURCE_LESSON = "Урок 22"
STALE = re.compile(
    # lesson 05, lesson (03), notebook 3; not "notebook 02-producers", which names the notebook
    r"\b(?:lessons?|notebooks?|урок\w*)[\s-]+\(?#?\s*(?!\d\d[a-z]?-[a-z])\d"
    r"|\b(?:the|an?)\s+[\w-]+\s+lessons?\b(?!\s+numbers?\b)"  # the consumers lesson, a later lesson
    r"|\b(?:later|earlier|next|previous|following|other)\s+lessons?\b"  # in later lessons
    r"|\blessons?\s+of\s+(?:its|their)\s+own\b",  # ... gets a lesson of its own
    re.IGNORECASE)
# 03-consumers, 02b-transactions; not a measure (a 61-byte header, 32-bit) nor part of a word
# (utf-16-be)
NAME = re.compile(r"(?<![\w.-])\d\d[a-z]?-(?!(?:bit|byte|character|digit|second|minute|hour|day|"
                  r"week|month|year)s?\b)[a-z][a-z-]*[a-z]\b")


def texts(file) -> list[tuple[str, str]]:
    """(where, text) of what the file says: each cell of a notebook, or the whole file."""
    if file.suffix == ".ipynb":
        cells = nbformat.read(file, as_version=4).cells
        return [(f"cell {i}", cell.source) for i, cell in enumerate(cells)]
    return [("", file.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("file", FILES, ids=lambda file: str(file.relative_to(ROOT)))
def test_cross_references_use_the_course_notebook_names(file):
    stale, unknown = [], []
    for where, text in texts(file):
        text = text.replace(SOURCE_LESSON, "")
        for pattern, found in ((STALE, stale), (NAME, unknown)):
            for match in pattern.finditer(text):
                if pattern is NAME and match.group(0) in COURSE_NOTEBOOKS:
                    continue
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{where} line {line}: {' '.join(match.group(0).split())!r}".strip())
    assert not stale, f"refer to other notebooks by their names (DESIGN §4): {stale}"
    assert not unknown, f"not a notebook of the course map: {unknown}"
