"""PDF copies of the briefs, for offices that forward attachments.

They are made by headless Chromium's print-to-PDF (Debian's ``chromium``). The page's print
stylesheet sets A4, the banner on every page and the page breaks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from markupsafe import escape

from analysis.files import write_file_atomically
from analysis.report.words import words

#: Where the page shell (``shell.html.j2``) leaves room for a link to the page's PDF.
PDF_LINK_SLOT = "<!-- pdf-link -->"

#: Command names tried in order (``ANALYSIS_CHROMIUM`` overrides).
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
)


def browser() -> str | None:
    """Path of a Chromium to print with, or ``None``."""
    own = os.environ.get("ANALYSIS_CHROMIUM")
    if own:
        return shutil.which(own) or (own if Path(own).exists() else None)
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def html_to_pdf(html: Path, pdf: Path, timeout: float = 120) -> Path:
    """Print ``html`` to ``pdf`` (written whole or not at all).

    Raises
    ------
    RuntimeError
        No Chromium was found, or it produced no PDF (its message is included).
    """
    exe = browser()
    if exe is None:
        raise RuntimeError(
            "no Chromium found for --pdf: install Debian's 'chromium' (apt-get install chromium) "
            "or set ANALYSIS_CHROMIUM to a Chrome/Chromium executable"
        )
    with tempfile.TemporaryDirectory(prefix="analysis-pdf-") as tmp:
        target = Path(tmp) / "out.pdf"
        proc = subprocess.run(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={Path(tmp) / 'profile'}",
                f"--print-to-pdf={target}",
                Path(html).resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if not target.exists() or target.stat().st_size == 0:
            raise RuntimeError(f"Chromium printed no PDF for {html}: {proc.stderr.strip()[-500:]}")
        return write_file_atomically(pdf, target.read_bytes())


def link_pdf(html: Path, pdf: Path) -> bool:
    """Put a link to ``pdf`` (a file beside ``html``) into the page's slot for it.

    The link is labelled in the page's language (``<html lang>``) and hidden in print. The
    page is rewritten whole or not at all; a page without the slot (or already linked) is
    left as it is. Returns whether a link was added.
    """
    html = Path(html)
    text = html.read_text(encoding="utf-8")
    if PDF_LINK_SLOT not in text:
        return False
    lang = re.search(r'<html lang="([^"]+)"', text)
    label = words(lang.group(1) if lang else "id").t("index.pdf")
    link = (
        f'<nav class="top"><a class="pdf-link" href="{escape(Path(pdf).name)}">'
        f"{escape(label)}</a></nav>"
    )
    write_file_atomically(html, text.replace(PDF_LINK_SLOT, link, 1).encode("utf-8"))
    return True


def print_briefs(out: Path, results: dict, lang: str = "en") -> str:
    """A ``brief.pdf`` beside every brief of a run that succeeded, linked from the brief.

    Each brief is printed first, so the PDF does not link to itself. Records ``pdf`` in
    ``results``.

    Returns a one-line message for the user in ``lang`` (``cli.pdf_written``: how many were
    printed, or ``cli.pdf_skipped``: why none were).
    """
    from analysis.report.messages import say  # lazy: the renderer imports the catalogs

    if browser() is None:
        return say("cli.pdf_skipped", lang)
    n = 0
    for r in results.values():
        if r.get("status") != "ok" or not r.get("brief"):
            continue
        html = Path(out) / r["brief"]
        pdf = html.with_suffix(".pdf")
        html_to_pdf(html, pdf)
        link_pdf(html, pdf)
        r["pdf"] = str(Path(r["brief"]).with_suffix(".pdf"))
        n += 1
    return say("cli.pdf_written", lang, n=n)
