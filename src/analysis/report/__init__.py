"""The presentation layer: every word, number and page a reader sees.

This module is the layer's face; the work is done in its modules:

- :mod:`~analysis.report.catalog`: keyed gettext catalogs per language (``locale/*/messages.po``);
- :mod:`~analysis.report.words`: :class:`Words`, the catalog of one language plus Babel's number
  and date formats and the wording of engine facts by their codes, and result rows worded with it;
- :mod:`~analysis.report.render`: Jinja2 templates (autoescaped) in one page shell with one
  stylesheet and one synthetic-data banner, and figures embedded as compressed PNGs;
- :mod:`~analysis.report.figures`, :mod:`~analysis.report.brief`,
  :mod:`~analysis.report.synthesis`, :mod:`~analysis.report.pages` (the run's index),
  :mod:`~analysis.report.data_quality` (the data-quality page, Markdown and HTML),
  :mod:`~analysis.report.export` (notebook to page) and :mod:`~analysis.report.pdf`;
- :mod:`~analysis.report.agreements`: agreements too recent for the outcome data.

Estimators return facts (codes and numbers); this package words them. A new language is one
``.po`` file; nothing here branches on the language.
"""

from analysis.report.catalog import MissingTextError, languages
from analysis.report.render import (
    TEMPLATES,
    environment,
    figure_html,
    page,
    png_data_uri,
    render,
    stylesheet,
    svg_markup,
)
from analysis.report.words import (
    METHOD_CODES,
    MINUS,
    Words,
    check_lang,
    dataset_title,
    not_estimated,
    result_row,
    shared_notes,
    words,
)

__all__ = [
    "Words",
    "words",
    "render",
    "page",
    "figure_html",
    "png_data_uri",
    "svg_markup",
    "result_row",
    "shared_notes",
    "not_estimated",
    "dataset_title",
    "check_lang",
    "languages",
    "MissingTextError",
    "METHOD_CODES",
    "MINUS",
    "TEMPLATES",
    "environment",
    "stylesheet",
]
