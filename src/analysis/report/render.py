"""Pages from templates, and figures embedded in them.

Templates are Jinja2 (autoescaped), in one page shell with one stylesheet and one synthetic-data
banner. Figures are embedded as inline SVG with alt text and caption. Their text is kept as
text, so it stays legible at the width of a phone and sharp in print.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from analysis.report.words import words

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _css_string(s: str) -> Markup:
    return Markup(str(s).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c "))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the templates: autoescaped, strict about undefined names."""
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
    """The one stylesheet every page embeds."""
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


#: Attributes of matplotlib's SVG that name or point to an id (clip paths, markers).
_SVG_IDS = re.compile(r'(\bid="|url\(#|xlink:href="#)([^"\)]+)')
#: Geometry attributes, whose numbers are rounded (never text content).
_SVG_GEOMETRY = re.compile(r'(\s(?:d|x|y|transform)=")([^"]*)"')
_ROOT_STYLE = (
    "font-family: 'DejaVu Sans', 'Bitstream Vera Sans', Verdana, Arial, sans-serif; "
    "stroke-linejoin: round; stroke-linecap: butt"
)
_DECIMALS = re.compile(r"(\d\.\d{2})\d+")


def _geometry(m: re.Match) -> str:
    value = _DECIMALS.sub(r"\1", " ".join(m.group(2).split()))
    return f'{m.group(1)}{value}"'


def svg_markup(fig, label: str | None = None) -> str:
    """A matplotlib figure as an ``<svg>`` element to inline in a page.

    Text is written as text (``svg.fonttype = "none"``, DejaVu Sans, the family the figures
    are laid out with), which keeps the markup small and lets the browser draw the labels at
    the size the page shows them. Made small for a page: the XML prolog, doctype, metadata,
    indentation, the ids nothing points to and the font list of every text (the
    ``<svg>`` names one family list, inherited) are dropped, and coordinates are rounded to
    1/100 pt (a 1/7200 inch, far below a pixel). The ids that are pointed to (clip paths,
    markers) get a prefix derived from the content, so several figures in one page never
    share an id and the same figure always gives the same bytes. The ``viewBox`` is kept, so
    the figure scales with the width CSS gives it. With ``label``, the element is an image
    labelled by it (``role="img"``, ``aria-label``; escaped), as ``<img alt>`` would be.
    """
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(
        {"savefig.bbox": "standard", "svg.fonttype": "none", "svg.hashsalt": "analysis"}
    ):
        fig.savefig(buf, format="svg")
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    # matplotlib's "*{...}" rule would apply to the whole page once inlined: set on the root
    text = re.sub(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>", "", text, count=1, flags=re.S)
    text = re.sub(r'<g id="[^"]*">', "<g>", text)
    # one font family for the whole figure, inherited, instead of a list on every text
    text = re.sub(r"font-family: [^;\"]*;? ?", "", text)
    text = re.sub(r' transform="rotate\(-0 [^)]*\)"', "", text)
    text = re.sub(r">\s+<", "><", _SVG_GEOMETRY.sub(_geometry, text)).strip()
    prefix = "f" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8] + "-"
    text = _SVG_IDS.sub(lambda m: m.group(1) + prefix + m.group(2), text)
    role = "" if label is None else f' role="img" aria-label="{escape(label)}"'
    return f'<svg{role} style="{_ROOT_STYLE}"' + text[len("<svg") :]


def figure_html(fig, alt: str, caption: str, lang: str) -> Markup:
    """``<figure>`` with the figure inlined as SVG, its alt text and its caption.

    The matplotlib figure is closed.

    The SVG is marked ``role="img"`` and labelled by ``alt`` (``aria-label``), as an
    ``<img alt>`` would be; :func:`png_data_uri` remains for a raster copy.
    """
    import matplotlib.pyplot as plt

    svg = svg_markup(fig, alt)
    plt.close(fig)
    return render("figure.html.j2", lang, svg=Markup(svg), alt=alt, caption=caption)
