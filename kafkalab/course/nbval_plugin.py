"""pytest plugin that records the outcome of every nbval cell as one JSON line.

Loaded by ``nbval_run`` with ``-p kafkalab.course.nbval_plugin --kafkalab-cells PATH``. Each line
is ``{"notebook": file name, "cell": nbval's code-cell number (0-based, code cells only),
"passed": bool, "ename": exception class name or "", "message": exception value or nbval's
reason, "printed": the cell's stream output}``. A cell's line is written after its call, or after
its setup if setup failed (the call then never runs). A skipped cell (``NBVAL_SKIP``) counts as
passed; a cell nbval expected to fail (xfail, after a cell timed out) counts as what it did.
"""

import json

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--kafkalab-cells", metavar="PATH", help="append nbval cell outcomes to PATH")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    path = item.config.getoption("kafkalab_cells")
    decisive = call.when == "call" or (call.when == "setup" and report.failed)
    if path and hasattr(item, "cell_num") and decisive:
        outputs = getattr(item, "test_outputs", None) or []
        error = next((out for out in outputs if out.get("output_type") == "error"), None)
        reason = str(call.excinfo.value) if call.excinfo else ""
        if reason.startswith("Timeout"):  # then the error output is nbval's KeyboardInterrupt
            error = None
        streams = [out.get("text", "") for out in outputs if out.get("output_type") == "stream"]
        line = {
            "notebook": item.path.name,
            "cell": item.cell_num,
            "passed": report.passed or (report.skipped and not hasattr(report, "wasxfail")),
            "ename": error["ename"] if error else "",
            "message": error["evalue"] if error else reason,
            "printed": "".join(streams),
        }
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps(line, ensure_ascii=False) + "\n")
    return report
