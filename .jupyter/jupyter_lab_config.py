"""JupyterLab settings owned by the project; `make lab` starts `jupyter lab --config=.jupyter/jupyter_lab_config.py`.

Nothing here is written to your home folder: your own JupyterLab settings (theme, shortcuts)
stay where they are and win over the project's defaults below.

* The server's root is the repository, so the lab reaches `notebooks/` and the executed runs
  in `results/`; the file browser opens at `notebooks/`.
* `lab/settings/overrides.json` (JupyterLab's "overrides" mechanism, read from
  `LabApp.app_settings_dir`) makes the Jupytext Notebook the default viewer of Python files,
  so double-clicking `notebooks/01_tim_net.py` opens it as a notebook (right-click, Open With,
  Editor still opens it as text).
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
c = get_config()  # noqa: F821 (defined by traitlets when this file is loaded)

c.ServerApp.root_dir = str(HERE.parent)
c.ContentsManager.preferred_dir = "notebooks"
c.LabApp.app_settings_dir = str(HERE / "lab" / "settings")
