"""JupyterLab as a student uses it: `make lab`'s settings, a double-click, Run All, in headless Chromium.

The server runs with the project's settings (``.jupyter/jupyter_lab_config.py``, the file
``make lab`` passes with ``--config``) on a temporary copy of ``notebooks/`` (saving a paired
notebook writes both files, so the repository's own notebooks are never touched), with data,
cache, runs, Jupyter's runtime/config folders, IPython, matplotlib and HOME all in a temporary
directory. The browser double-clicks ``00_data_tour.py`` in the file browser (which must open at
``notebooks/``), which must open as a notebook (Jupytext Notebook, the project's default viewer
for Python files), runs all cells from the Run menu, saves, and checks that a figure and a
table are shown and that no cell failed.

Needs Debian's Chromium (``/usr/bin/chromium``, or ``$SER_CHROMIUM``; ``make browser``
installs it) and the ``playwright`` package (its own browser download is not used); the test
skips with the reason when either is missing. A screenshot is saved to
``$SER_RUNS_DIR/artifacts/lab_browser/`` (``runs/artifacts/lab_browser/`` under ``make test``)
or, without SER_RUNS_DIR, to pytest's temporary folder; its path is printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]
LAB_CONFIG = REPO / ".jupyter" / "jupyter_lab_config.py"
CHROMIUM = Path(os.environ.get("SER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK = "00_data_tour.py"
#: Generous limits for 2 busy cores; the whole test takes 1.5 min there (the notebook itself well under 1).
SERVER_START_S = 120
UI_S = 120
RUN_ALL_S = 600

# The visible notebook, its code-cell prompts, kernel status, outputs and any modal dialog.
_NOTEBOOK_STATE = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const dialog = document.querySelector('.jp-Dialog');
  if (!panel) return {panel: false, dialog: dialog ? dialog.innerText : null};
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const errors = [...panel.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], ' +
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')]
    .map(e => e.innerText).filter(t => /Traceback \\(most recent call last\\)|^\\w*(Error|Exception)\\b/m.test(t));
  return {
    panel: true,
    dialog: dialog ? dialog.innerText : null,
    status: indicator ? indicator.getAttribute('data-status') : null,
    prompts: [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(e => e.textContent.trim()),
    images: panel.querySelectorAll('.jp-OutputArea-output img').length,
    tables: panel.querySelectorAll('.jp-OutputArea-output table').length,
    errors: errors.map(t => t.slice(-1500)),
  };
}"""


# --------------------------------------------------------------------------------------------
# fixtures: the browser first (so a missing Chromium skips before a server is started), then the lab


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -c constraints.txt -e '.[dev]')")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (`make browser` installs Debian's chromium with apt-get "
                    "as root; or set SER_CHROMIUM to a Chromium binary)")
    home = tmp_path_factory.mktemp("chromium-home")  # Chromium writes crash-report and dconf files under HOME
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                                             env=env, timeout=UI_S * 1000)
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(url: str, token: str, method: str = "GET", timeout: float = 10):
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`jupyter lab` with the project's config on a temporary copy of notebooks/; stopped at the end."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "repo"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(REPO / "jupytext.toml", root / "jupytext.toml")
    now = time.time()
    for source in sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "notebooks").glob("*.py")):
        target = root / "notebooks" / source.name
        shutil.copy(source, target)
        # jupytext refuses to open a pair whose .ipynb is newer than its text file.
        stamp = now if source.suffix == ".py" else now - 60
        os.utime(target, (stamp, stamp))
    user_settings = tmp / "user-settings"
    notification = user_settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    # The test's own user settings (never the project's): no "get Jupyter news?" prompt, no update check.
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {
        **os.environ,
        "HOME": str(tmp / "home"),
        "SER_DATA_DIR": str(tmp / "data"),
        "SER_CACHE_DIR": str(tmp / "cache"),
        "SER_RUNS_DIR": str(tmp / "runs"),
        "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(tmp / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter-runtime"),
        "IPYTHONDIR": str(tmp / "ipython"),
        "MPLCONFIGDIR": str(tmp / "matplotlib"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    (tmp / "home").mkdir()
    port, token = _free_port(), os.urandom(16).hex()
    command = [
        sys.executable, "-m", "jupyterlab", f"--config={LAB_CONFIG}",
        f"--ServerApp.root_dir={root}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", "--no-browser", f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={user_settings}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI runs as root
    log_path = tmp / "jupyter-lab.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    server = SimpleNamespace(url=url, token=token, root=root, log=log_path, process=process)

    def log_tail() -> str:
        return log_path.read_text(errors="replace")[-4000:]

    server.log_tail = log_tail
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited with {process.returncode}:\n{log_tail()}")
            try:
                if _api(f"{url}/api/status", token, timeout=5)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer within {SERVER_START_S} s:\n{log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        _stop(server)


def _stop(server) -> None:
    """Shut the server down through its API (it stops its kernels), then make sure its process group is gone."""
    process = server.process
    if process.poll() is None:
        try:
            _api(f"{server.url}/api/shutdown", server.token, method="POST", timeout=10)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the group this fixture started; normally already empty
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.wait(timeout=10)


def _kernel_idle(server, path: str) -> bool:
    """Whether the server has a session for ``path`` whose kernel is started and idle."""
    try:
        sessions = json.loads(_api(f"{server.url}/api/sessions", server.token)[1])
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
    return any(s.get("path") == path and (s.get("kernel") or {}).get("execution_state") == "idle" for s in sessions)


def _artifact_dir(tmp_path: Path) -> Path:
    runs = os.environ.get("SER_RUNS_DIR")
    directory = Path(runs) / "artifacts" / "lab_browser" if runs else tmp_path
    directory.mkdir(parents=True, exist_ok=True)
    return directory


# --------------------------------------------------------------------------------------------


def test_make_lab_uses_the_project_settings_jupytext_notebook_for_python_files():
    """No browser needed: what `make lab` starts with (the browser test below shows it working)."""
    from traitlets.config.loader import PyFileConfigLoader

    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^lab: venv\n\t\$\(VENV\)/bin/jupyter lab --config=\$\(CURDIR\)/\.jupyter/jupyter_lab_config\.py$",
                     makefile, re.M), "make lab must start JupyterLab with .jupyter/jupyter_lab_config.py"
    config = PyFileConfigLoader(LAB_CONFIG.name, path=str(LAB_CONFIG.parent)).load_config()
    assert Path(config.ServerApp.root_dir) == REPO, "the lab's root is the repository (notebooks/ and results/)"
    assert config.ContentsManager.preferred_dir == "notebooks"
    settings = Path(config.LabApp.app_settings_dir)
    assert settings.is_relative_to(REPO), "the project's JupyterLab settings live in the repository"
    overrides = json.loads((settings / "overrides.json").read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["python"] == "Jupytext Notebook"
    extension = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-jupytext" / "static"
    if extension.is_dir():  # the factory name must be the one the installed jupytext extension registers
        assert any("Jupytext Notebook" in js.read_text(errors="ignore") for js in extension.glob("*.js"))


@pytest.mark.browser
def test_double_click_opens_the_py_as_a_notebook_and_run_all_shows_figures_and_tables(chromium, lab, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(UI_S * 1000)
    screenshot = _artifact_dir(tmp_path) / f"{Path(NOTEBOOK).stem}.png"

    def state() -> dict:
        return page.evaluate(_NOTEBOOK_STATE)

    try:
        page.goto(f"{lab.url}/lab?token={lab.token}")

        # The file browser opens at notebooks/ (preferred_dir); double-click the py:percent file.
        item = page.locator(".jp-DirListing-item").filter(
            has=page.locator(".jp-DirListing-itemText", has_text=re.compile(rf"^{re.escape(NOTEBOOK)}$")))
        item.wait_for()
        notebook_panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        for attempt in range(3):  # a listing refresh between the two clicks can swallow a double-click
            item.dblclick()
            try:
                notebook_panel.wait_for(timeout=40_000 if attempt < 2 else UI_S * 1000)
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise

        # It opens as a notebook (not in the text editor), in a tab named after the file.
        current_tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
        assert current_tab.inner_text().strip() == NOTEBOOK
        assert page.locator(".jp-MainAreaWidget:not(.lm-mod-hidden) .jp-FileEditor").count() == 0, (
            f"{NOTEBOOK} opened in the text editor: the default viewer for Python files is not Jupytext Notebook"
        )
        assert page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").count() > 0

        # The kernel named in the file's metadata starts without asking: the server has a session
        # for the notebook with an idle kernel, and the notebook's toolbar shows it idle.
        deadline = time.monotonic() + UI_S
        while not (_kernel_idle(lab, f"notebooks/{NOTEBOOK}") and (current := state()).get("status") == "idle"):
            current = state()
            assert not current["dialog"], f"unexpected dialog: {current['dialog']}"
            assert time.monotonic() < deadline, f"the kernel did not become idle: {current}\n{lab.log_tail()}"
            page.wait_for_timeout(500)

        # Run > Run All Cells, as a student would.
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

        # Done when the kernel is idle and no cell waits ([*]) after at least one ran; twice in a row.
        clicked = time.monotonic()
        deadline, done_twice = clicked + RUN_ALL_S, 0
        while done_twice < 2:
            page.wait_for_timeout(1000)
            current = state()
            assert not current["dialog"], f"unexpected dialog while running: {current['dialog']}"
            prompts = current.get("prompts", [])
            ran, waiting = any(re.search(r"\d", p) for p in prompts), any("*" in p for p in prompts)
            assert ran or waiting or time.monotonic() < clicked + UI_S, f"Run All Cells did not start: {current}"
            done_twice = done_twice + 1 if (ran and not waiting and current.get("status") == "idle") else 0
            assert time.monotonic() < deadline, f"Run All did not finish in {RUN_ALL_S} s: {current}\n{lab.log_tail()}"

        assert not current["errors"], "a cell failed in JupyterLab:\n" + "\n---\n".join(current["errors"])
        assert current["images"] > 0, "no figure (img output) in the notebook"
        assert current["tables"] > 0, "no table (HTML table output) in the notebook"

        # Save (toolbar button): jupytext writes the pair in the temporary copy; every code cell ran, no error output.
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) [data-command='docmanager:save']").first.click()
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current:not(.jp-mod-dirty)").wait_for()
        saved = nbformat.read(lab.root / "notebooks" / f"{Path(NOTEBOOK).stem}.ipynb", as_version=4)
        code = [c for c in saved.cells if c.cell_type == "code" and c.source.strip()]
        assert code and all(c.execution_count for c in code), "Run All left cells unexecuted"
        errors = [o for c in code for o in c.outputs if o.output_type == "error"]
        assert not errors, f"error outputs in the saved notebook: {[(o.ename, o.evalue) for o in errors]}"
        mimes = {m for c in code for o in c.outputs for m in o.get("data", {})}
        assert "image/png" in mimes and "text/html" in mimes, mimes

        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img").first.scroll_into_view_if_needed()
    finally:
        try:
            page.screenshot(path=str(screenshot))
            print(f"screenshot: {screenshot}")
        finally:
            page.close()
