"""Pages from templates: Jinja2 (autoescaped) in one page shell with one stylesheet and one
synthetic-data banner, and figures embedded as compressed PNGs with alt text and caption.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from analysis.report.words import words

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _css_string(s: str) -> Markup:
    return Markup(str(s).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c "))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["css_string"] = _css_string
    return env


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return (TEMPLATES / "style.css").read_text(encoding="utf-8")


def render(template: str, lang: str, /, **ctx: object) -> Markup:
    """Render ``templates/<template>`` with ``w`` (the language's :class:`Words`) and ``ctx``."""
    return Markup(environment().get_template(template).render(w=words(lang), **ctx))


def page(title: str, body: str, lang: str, synthetic: bool, index_href: str | None = None) -> str:
    """A whole HTML page: the shared shell, stylesheet, banner (synthetic data) and index link.

    ``body`` must already be HTML (rendered from a template, so escaped); ``title`` is text.
    """
    return str(
        render(
            "shell.html.j2",
            lang,
            title=title,
            body=Markup(body),
            synthetic=synthetic,
            index_href=index_href,
            css=Markup(stylesheet()),
        )
    )


def png_data_uri(fig, dpi: int = 96, colors: int = 96) -> str:
    """A matplotlib figure as a palette PNG data URI (small enough to embed several in a page).

    The figure is rendered once by Agg into raw RGBA pixels (the whole figure at ``dpi``,
    whatever ``savefig.bbox`` says), reduced to ``colors`` colours by median cut and written
    with zlib level 8: within 1% of the size ``optimize=True`` (zlib level 9) gives, in a third
    of its time. The rendering is not compressed to PNG and decoded again in between.
    """
    import matplotlib
    from PIL import Image

    raw = io.BytesIO()
    with matplotlib.rc_context({"savefig.bbox": "standard"}):
        fig.savefig(raw, format="rgba", dpi=dpi)
    width, height = (int(size * dpi) for size in fig.get_size_inches())
    img = Image.frombuffer("RGBA", (width, height), raw.getbuffer(), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    img.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(
        out, format="PNG", compress_level=8
    )
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def figure_html(fig, alt: str, caption: str, lang: str) -> Markup:
    """``<figure>`` with the image embedded, its alt text and its caption (closes the figure)."""
    import matplotlib.pyplot as plt

    uri = png_data_uri(fig)
    plt.close(fig)
    return render("figure.html.j2", lang, src=uri, alt=alt, caption=caption)
