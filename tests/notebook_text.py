"""Reading an executed notebook the way a learner does: a cell's shown output, the prose beside it.

Used by the ``test_views_NN.py`` tests, which check that each view a cell displays agrees with the
text that describes it (DESIGN §4: a notebook run top to bottom reads true), and by
``test_cross_references.py``.
"""
from __future__ import annotations

import html
import re

TAG = re.compile(r"<[^>]+>")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# the notebook names of the course map (DESIGN §4): the only names a cross-reference may use
COURSE_NOTEBOOKS = {
    "00-start-here", "01-topics-partitions-offsets", "02-producers", "02b-transactions",
    "03-consumers", "04-streams", "05-connect", "06-replication", "07-retention-compaction",
    "08-monitoring", "09-patterns", "10-kafka-vs-queues", "11-self-check"}


def code_cell(notebook, fragment: str):
    """The one code cell whose source contains ``fragment``."""
    cells = [c for c in notebook.cells if c.cell_type == "code" and fragment in c.source]
    assert len(cells) == 1, f"{len(cells)} code cells contain {fragment!r}; need exactly one"
    return cells[0]


def shown_text(cell) -> str:
    """What the cell shows: printed text, and each display's HTML (tags stripped) or plain
    text."""
    parts = []
    previous = None
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            # a busy kernel may split one print into several stream messages: glue them
            text = output.get("text", "")
            if previous is not None and previous.get("name") == output.get("name"):
                parts[-1] += text
            else:
                parts.append(text)
            previous = output
            continue
        previous = None
        data = output.get("data", {})
        if "text/html" in data:
            parts.append(html.unescape(TAG.sub(" ", data["text/html"])))
        elif "text/plain" in data:
            parts.append(data["text/plain"])
    return re.sub(r"[ \t]+", " ", "\n".join(parts))


def outputs_text(notebook) -> str:
    """What all the code cells of the notebook show, one after the other."""
    return "\n".join(shown_text(c) for c in notebook.cells if c.cell_type == "code")


def live_widget_cells(notebook) -> list:
    """The code cells that display a live widget (a widget view, not a snapshot's HTML)."""
    return [c for c in notebook.cells if c.cell_type == "code"
            and any(WIDGET_VIEW in o.get("data", {}) for o in c.get("outputs", []))]


def shown_html(cell) -> str:
    """The raw HTML of every display of the cell, joined."""
    return "\n".join(o.get("data", {}).get("text/html", "") for o in cell.get("outputs", []))


def table(cell) -> list[dict[str, str]]:
    """The rows of the DataFrame the cell displays, from its HTML: column -> shown text."""
    shown = shown_html(cell)
    header = re.findall(r"<tr[^>]*>(.*?)</tr>", re.search(r"<thead>(.*?)</thead>", shown,
                                                          re.S).group(1), re.S)[0]
    columns = [html.unescape(c) for c in re.findall(r"<th[^>]*>([^<]*)</th>", header)]
    body = re.search(r"<tbody>(.*?)</tbody>", shown, re.S).group(1)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [html.unescape(v) for v in re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row)]
        rows.append(dict(zip(columns[1:], cells[1:])))
    return rows


def prose_before(notebook, fragment: str) -> str:
    """The markdown cell right before the code cell containing ``fragment``."""
    index = notebook.cells.index(code_cell(notebook, fragment))
    before = [c for c in notebook.cells[:index] if c.cell_type == "markdown"]
    return before[-1].source if before else ""


def prose_after(notebook, fragment: str) -> str:
    """The markdown cell right after the code cell containing ``fragment``."""
    cell = code_cell(notebook, fragment)
    index = notebook.cells.index(cell)
    following = [c for c in notebook.cells[index + 1:] if c.cell_type == "markdown"]
    return following[0].source if following else ""


def flat(text: str) -> str:
    """Markdown or shown text on one line, single spaces, no emphasis marks (``**``, ``*``).
    Backticks stay: a test may quote code as the prose marks it (`` `controller 1000` ``)."""
    return re.sub(r"\s+", " ", text.replace("**", "").replace("*", ""))


def clock_seconds(text: str) -> int:
    """The widget clock ``t = D d HH:MM:SS`` a view shows, in seconds."""
    days, h, m, s = map(int, re.search(r"t = (\d+) d (\d\d):(\d\d):(\d\d)", text).groups())
    return ((days * 24 + h) * 60 + m) * 60 + s
