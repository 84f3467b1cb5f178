"""Real-browser test fixtures: an isolated JupyterLab server and Debian's headless Chromium.

One server and one browser serve the whole session; each test gets a fresh browser context and
its kernels are shut down after it.

Isolation (DESIGN §7): everything JupyterLab and IPython write or read per user lives under the
session's temporary folder:

- ``JUPYTER_CONFIG_DIR``, ``JUPYTER_DATA_DIR``, ``JUPYTER_RUNTIME_DIR``, ``IPYTHONDIR``,
  ``JUPYTERLAB_SETTINGS_DIR`` (user settings) and ``JUPYTERLAB_WORKSPACES_DIR`` (saved layouts);
- a ``python3`` kernelspec that starts *this* interpreter (the venv's), in a folder put first on
  ``JUPYTER_PATH``. ``JUPYTER_DATA_DIR`` alone is not enough: inside a venv jupyter_core prefers
  ``{sys.prefix}/share/jupyter`` over the user folder, so the venv's own ``python3`` spec (whose
  argv is a bare ``python``) would win. The server's ``/api/kernelspecs`` is checked;
- the settings overrides (autosave off, no news, no update check) go to a temporary
  ``overrides.json`` that the server reads through ``--LabApp.app_settings_dir``; nothing is
  written into the venv;
- the server's root is a temporary copy of the repo's ``notebooks/`` folder, so a run never
  touches the tracked notebooks (no checkpoints, no saved outputs).

If Playwright or Chromium is missing the tests are skipped, or fail when ``CI`` is set (the
Makefile's ``browser-deps`` installs Debian's ``chromium``; Playwright never downloads a browser).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# what `make lab` shows a learner: the project's course folders (JupyterLab is rooted there)
COURSE_FOLDERS = ("notebooks", "exercises")
STEP_TIMEOUT_S = 60
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--no-first-run",
    "--disable-quic", "--disable-sync",
]  # fmt: skip
SETTINGS_OVERRIDES = {
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def _missing(reason: str):
    """Skip locally; fail on CI, where `make test` installs the browser first."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"browser test cannot run on CI: {reason} (`make browser-deps` installs "
                    "Debian's chromium; `pip install -e '.[test]'` installs playwright)",
                    pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def playwright_api():
    """Playwright's sync API, with Debian's Chromium available."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        sync_playwright, problem = None, f"playwright is not installed ({error})"
    if sync_playwright is None:
        _missing(problem)
    if chromium_path() is None:
        _missing("Debian's chromium is not installed (/usr/bin/chromium)")
    return sync_playwright


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    url: str
    root: Path
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def get_json(self, path: str):
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
            return json.load(response)

    def shutdown_kernels(self) -> None:
        """End every session and kernel (the next test's notebook gets the CPU to itself)."""
        # a DELETE needs the server's _xsrf cookie, sent back as X-XSRFToken
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{self.url}/lab", timeout=10).close()
        xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
        for kind in ("sessions", "kernels"):
            for item in self.get_json(f"/api/{kind}"):
                request = urllib.request.Request(f"{self.url}/api/{kind}/{item['id']}",
                                                 method="DELETE",
                                                 headers={"X-XSRFToken": xsrf})
                try:
                    opener.open(request, timeout=30).close()
                except urllib.error.HTTPError as error:
                    if error.code != 404:  # 404: gone with its session already
                        raise


def _isolated_environment(state: Path) -> dict[str, str]:
    config, data, runtime, ipython = (state / n for n in ("config", "data", "runtime", "ipython"))
    kernel_dir = data / "kernels" / "python3"
    kernel_dir.mkdir(parents=True)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (kafkalab browser test)",
        "language": "python",
    }))  # fmt: skip
    for folder in (config, runtime, ipython):
        folder.mkdir(parents=True)
    dropped = ("IPYTHONDIR", "PYTEST_ADDOPTS")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("JUPYTER", "JPY_")) and key not in dropped}
    env.update(
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(data),
        JUPYTER_RUNTIME_DIR=str(runtime),
        JUPYTER_PATH=str(data),  # first on the data path, ahead of the venv's own python3 spec
        JUPYTERLAB_SETTINGS_DIR=str(config / "lab" / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(config / "lab" / "workspaces"),
        IPYTHONDIR=str(ipython),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, playwright_api) -> LabServer:
    """JupyterLab from this interpreter on 127.0.0.1, no token, rooted at a copy of the course
    folders (notebooks/, exercises/), as ``make lab`` roots it at the project.

    One server for the whole session (starting it is a good part of a test's time); each test
    gets it through ``jupyter_lab``, which shuts its kernels down afterwards.
    """
    tmp_path = tmp_path_factory.mktemp("jupyterlab")
    state = tmp_path / "jupyter-state"
    root = tmp_path / "course"
    for folder in COURSE_FOLDERS:
        shutil.copytree(REPO_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = _isolated_environment(state)
    settings = state / "lab-settings"  # read as {app_settings_dir}/overrides.json
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps(SETTINGS_OVERRIDES, indent=1))

    port = _free_port()
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=",
        f"--ServerApp.root_dir={root}", f"--LabApp.app_settings_dir={settings}",
        "--LabApp.news_url=None",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses to start as root without it
    log = tmp_path / "jupyterlab.log"
    server = LabServer(url=f"http://127.0.0.1:{port}", root=root, log=log)
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}",
                            pytrace=False)
            try:
                server.get_json("/api/status")
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer on {server.url} within "
                                f"{STEP_TIMEOUT_S} s:\n{server.log_tail()}", pytrace=False)
                time.sleep(0.25)
        specs = server.get_json("/api/kernelspecs")
        argv = specs["kernelspecs"].get("python3", {}).get("spec", {}).get("argv", [])
        assert specs["default"] == "python3" and argv[:1] == [sys.executable], (
            f"the server's python3 kernel is not this interpreter ({sys.executable}): {specs}")
        for plugin, values in SETTINGS_OVERRIDES.items():  # overrides become the schema defaults
            schema = server.get_json(f"/lab/api/settings/{plugin}")["schema"]["properties"]
            applied = {key: schema[key].get("default") for key in values}
            assert applied == values, f"overrides.json not applied for {plugin}: {applied}"
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def jupyter_lab(lab_server: LabServer) -> LabServer:
    """The session's JupyterLab server; the kernels a test started are shut down after it."""
    yield lab_server
    try:
        lab_server.shutdown_kernels()
    except (OSError, urllib.error.URLError) as error:  # the next test's open will tell
        print(f"could not shut the kernels down: {error}")


@pytest.fixture(scope="session")
def lab_browser(playwright_api, tmp_path_factory):
    """Debian's headless Chromium, once per session (each test gets its own context)."""
    with playwright_api() as p:
        home = tmp_path_factory.mktemp("chromium-home")  # the wrapper and crashpad use HOME
        env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                   XDG_CACHE_HOME=str(home / ".cache"))
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, env=env,
                                    timeout=STEP_TIMEOUT_S * 1000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def lab_page(lab_browser):
    """A fresh page (in a fresh context) of the session's Chromium; collects console errors on
    ``.errors``.

    (Not named ``page``, so it cannot clash with the pytest-playwright plugin's fixture.)
    """
    context = lab_browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        context.set_default_timeout(STEP_TIMEOUT_S * 1000)
        tab = context.new_page()
        tab.errors = []
        tab.on("pageerror", lambda error: tab.errors.append(f"pageerror: {error}"))
        tab.on("console", lambda message: message.type == "error"
               and tab.errors.append(f"console: {message.text}"))
        yield tab
    finally:
        context.close()
