"""Reading an executed notebook the way a learner does: a cell's shown output, the prose beside it.

Used by the ``test_views_NN.py`` tests, which check that each view a cell displays agrees with the
text that describes it (DESIGN §4: a notebook run top to bottom reads true).
"""
from __future__ import annotations

import html
import re

TAG = re.compile(r"<[^>]+>")


def code_cell(notebook, fragment: str):
    """The one code cell whose source contains ``fragment``."""
    cells = [c for c in notebook.cells if c.cell_type == "code" and fragment in c.source]
    assert len(cells) == 1, f"{len(cells)} code cells contain {fragment!r}; need exactly one"
    return cells[0]


def shown_text(cell) -> str:
    """What the cell shows: printed text, and each display's HTML (tags stripped) or plain
    text."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        data = output.get("data", {})
        if "text/html" in data:
            parts.append(html.unescape(TAG.sub(" ", data["text/html"])))
        elif "text/plain" in data:
            parts.append(data["text/plain"])
    return re.sub(r"[ \t]+", " ", "\n".join(parts))


def shown_html(cell) -> str:
    """The raw HTML of every display of the cell, joined."""
    return "\n".join(o.get("data", {}).get("text/html", "") for o in cell.get("outputs", []))


def prose_after(notebook, fragment: str) -> str:
    """The markdown cell right after the code cell containing ``fragment``."""
    cell = code_cell(notebook, fragment)
    index = notebook.cells.index(cell)
    following = [c for c in notebook.cells[index + 1:] if c.cell_type == "markdown"]
    return following[0].source if following else ""
