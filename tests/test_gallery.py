"""`make html`: tools/make_gallery.py renders every executed run under results/ and links it from an index."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tools" / "make_gallery.py"

pytest.importorskip("nbconvert")


def _gallery_module():
    spec = importlib.util.spec_from_file_location("make_gallery", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href = dict(attrs).get("href")
            self.links.append((self._href, ""))

    def handle_data(self, data):
        if self._href is not None:
            href, text = self.links[-1]
            self.links[-1] = (href, text + data)

    def handle_endtag(self, tag):
        if tag == "a":
            self._href = None


def _links(index: Path) -> dict[str, str]:
    parser = _Links()
    parser.feed(index.read_text(encoding="utf-8"))
    return dict(parser.links)


def test_gallery_of_the_real_results_links_every_executed_notebook(tmp_path):
    results = REPO / "results"
    executed = sorted(results.rglob("*.ipynb"))
    if not executed:
        pytest.skip("no executed notebooks under results/")
    out = tmp_path / "html"
    finished = subprocess.run([sys.executable, str(SCRIPT), str(results), str(out)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    links = _links(out / "index.html")
    gallery = _gallery_module()
    import nbformat

    for notebook in executed:
        href = notebook.relative_to(results).with_suffix(".html").as_posix()
        assert href in links, f"index.html does not link {notebook.relative_to(REPO)}"
        page = out / href
        assert page.is_file() and page.stat().st_size > 1000, f"{page} missing or empty"
        title = gallery.notebook_title(nbformat.read(notebook, as_version=4), notebook.stem)
        assert links[href] == title
        text = page.read_text(encoding="utf-8")
        assert "data:image/png;base64" in text or "<img" in text or "<svg" in text or "<table" in text, (
            f"{page} shows no outputs: the gallery must keep the executed outputs"
        )
    assert len(links) == len(executed), "index.html links something that is not an executed run"
    assert not (REPO / "results" / "index.html").exists()


def test_gallery_groups_by_corpus_titles_from_the_first_heading_and_never_executes(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    v4 = nbformat.v4
    results = tmp_path / "results"
    for corpus, name, heading in [("emodb", "01_a", "# 01 · <TIM-Net> & *friends*"), ("ravdess", "00_b", "no heading")]:
        nb = v4.new_notebook(cells=[
            v4.new_markdown_cell(heading),
            v4.new_code_cell('dataset = "x"\nepochs = 3', metadata={"tags": ["injected-parameters"]}),
            # Would fail if executed; the gallery must show the stored output instead.
            v4.new_code_cell("raise SystemExit('executed!')", execution_count=1,
                             outputs=[v4.new_output("stream", name="stdout", text="stored output\n")]),
        ])
        (results / corpus).mkdir(parents=True)
        nbformat.write(nb, results / corpus / f"{name}.ipynb")
    index = _gallery_module().build_gallery(results, tmp_path / "html")
    text = index.read_text(encoding="utf-8")
    links = _links(index)
    assert links == {"emodb/01_a.html": "01 · <TIM-Net> & friends", "ravdess/00_b.html": "00_b"}
    assert "&lt;TIM-Net&gt; &amp; friends" in text, "titles must be HTML-escaped"
    assert text.index('<h2 id="emodb">') < text.index('<h2 id="ravdess">')
    assert re.search(r"parameters: dataset = &quot;x&quot;, epochs = 3", text)
    assert "stored output" in (tmp_path / "html" / "emodb" / "01_a.html").read_text(encoding="utf-8")


def test_gallery_refuses_an_empty_results_folder(tmp_path):
    with pytest.raises(SystemExit, match="no executed notebooks"):
        _gallery_module().build_gallery(tmp_path, tmp_path / "html")
