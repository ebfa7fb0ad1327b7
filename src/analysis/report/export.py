"""Executed notebook -> self-contained HTML page in the report package's page shell.

Only the outputs of cells meant for readers are kept (no code, no parameters, no cells tagged
``remove-cell``, no stream or error text): HTML sections rendered by :mod:`analysis.report.brief` and
figures. Every output after the decision page (``role="decision"``) goes into one technical
appendix, collapsed on screen and opened in print. The page gets the shared stylesheet, one synthetic-data banner, a viewport for phones
and a link back to the run's index; nothing is fetched from the network.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from markupsafe import Markup, escape

from analysis.files import write_file_atomically
from analysis.report import page, render
from analysis.report.brief import META

HIDDEN_TAGS = {"remove-cell", "injected-parameters", "parameters", "remove-output"}


def notebook_body(nb) -> tuple[str, dict]:
    """The reader-facing HTML of an executed notebook and the page facts its header declared."""
    parts: list[str] = []
    appendix: list[str] = []  # outputs after the decision page go into the technical appendix
    info: dict = {}
    decided = False
    for cell in nb.cells:
        if cell.cell_type != "code" or HIDDEN_TAGS & set(cell.metadata.get("tags", [])):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") not in ("display_data", "execute_result"):
                continue
            meta = (out.get("metadata") or {}).get(META) or {}
            if meta.get("role") == "banner":
                continue  # the page shell has its own banner
            if meta.get("role") == "header":
                info = dict(meta)
            target = appendix if decided else parts
            decided = decided or meta.get("role") == "decision"
            data = out.get("data", {})
            if "text/html" in data:
                html = data["text/html"]
                target.append("".join(html) if isinstance(html, list) else html)
            elif "image/png" in data:
                alt = (out.get("metadata") or {}).get("alt", "")
                b64 = data["image/png"].replace("\n", "")
                target.append(
                    Markup('<figure><img src="data:image/png;base64,{}" alt="{}"></figure>').format(
                        b64, escape(alt)
                    )
                )
    if appendix:
        body = Markup("\n".join(appendix))
        parts.append(render("brief/appendix.html.j2", info.get("lang", "id"), body=body))
    return "\n".join(parts), info


def notebook_to_html(
    nb_path: Path,
    html_path: Path,
    lang: str = "id",
    title: str = "",
    index_href: str | None = None,
    synthetic: bool | None = None,
) -> Path:
    """Export an executed notebook as a page: outputs only, figures embedded, offline.

    ``title``, ``lang`` and ``synthetic`` default to what the notebook's header output declared.
    """
    nb = nbformat.read(nb_path, as_version=4)
    body, info = notebook_body(nb)
    html = page(
        title or info.get("title", ""),
        body,
        info.get("lang", lang),
        bool(info.get("synthetic")) if synthetic is None else synthetic,
        index_href,
    )
    return write_file_atomically(html_path, html)
