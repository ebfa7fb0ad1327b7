"""Executed notebook -> self-contained HTML brief (no code, no parameters cell, nothing fetched)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import nbformat

from analysis.paths import PACKAGE_DIR
from analysis.tables import write_file_atomically

TEMPLATE_DIR = PACKAGE_DIR / "templates"


@lru_cache(maxsize=4)
def _exporter(lang: str):
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell", "injected-parameters", "parameters"}
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    c.HTMLExporter.template_name = "brief"
    c.HTMLExporter.language_code = lang
    return HTMLExporter(config=c)


def notebook_to_html(nb_path: Path, html_path: Path, lang: str = "id", title: str = "") -> Path:
    """Export an executed notebook as a brief: outputs only, figures embedded, offline."""
    nb = nbformat.read(nb_path, as_version=4)
    if title:
        nb.metadata["title"] = title
    body, _ = _exporter(lang).from_notebook_node(nb)
    return write_file_atomically(html_path, body)
