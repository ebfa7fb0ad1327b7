"""Reader-facing words, one gettext catalog per language (``locale/<lang>/LC_MESSAGES/messages.po``).

Messages are keyed (``grade.strong``, ``method.aipw``, ``partner_type.lsm``): the key says what a
text is for and every language translates every key, so a missing key is an error, never a silent
fall-back to another language or to the raw code. Plurals follow each catalog's
``Plural-Forms`` header. The ``.po`` files are read directly with Babel and compiled in memory,
so a fresh clone needs no build step; a new language is one more ``.po`` file.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


class MissingTextError(KeyError):
    """A key used by the presentation layer has no text in a language's catalog."""


def languages() -> tuple[str, ...]:
    """Languages with a catalog, e.g. ``("en", "id")``."""
    return tuple(
        sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    )


def po_path(lang: str) -> Path:
    """The ``messages.po`` file of ``lang`` (whether or not it exists)."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=8)
def load(lang: str) -> Catalog:
    """The catalog of ``lang`` (raises ``ValueError`` naming the languages that exist)."""
    path = po_path(lang)
    if not path.exists():
        raise ValueError(f"no catalog for language '{lang}'; available: {', '.join(languages())}")
    with path.open("rb") as fh:
        po = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, po)
    buf.seek(0)
    return Catalog(lang, gettext.GNUTranslations(buf), po)


class Catalog:
    """Look-ups in one language's catalog; every look-up of an unknown key raises."""

    def __init__(self, lang: str, translations: gettext.GNUTranslations, po) -> None:
        self.lang = lang
        self.translations = translations
        self._keys = {m.id if isinstance(m.id, str) else m.id[0]: m for m in po if m.id}

    def keys(self) -> set[str]:
        """Every key of the catalog, with or without a text."""
        return set(self._keys)

    def __iter__(self):
        """The keys in sorted order."""
        return iter(sorted(self._keys))

    def has(self, key: str) -> bool:
        """Whether ``key`` has a text (every plural form filled in)."""
        m = self._keys.get(key)
        return (
            m is not None
            and bool(m.string)
            and all(m.string if isinstance(m.string, tuple) else [m.string])
        )

    def text(self, key: str, /, **kw: object) -> str:
        """The text of ``key`` with ``{name}`` fields filled in."""
        if not self.has(key):
            raise MissingTextError(
                f"'{key}' has no text in the '{self.lang}' catalog ({po_path(self.lang)})"
            )
        s = self.translations.gettext(key)
        return s.format(**kw) if kw else s

    def is_plural(self, key: str) -> bool:
        """Whether ``key`` is a plural entry (one text per plural form)."""
        m = self._keys.get(key)
        return m is not None and isinstance(m.id, tuple)

    def plural(self, key: str, n: int, /, **kw: object) -> str:
        """The form of ``key`` for count ``n`` (``{n}`` is filled in too)."""
        if not self.has(key) or not self.is_plural(key):
            raise MissingTextError(
                f"'{key}' has no plural entry in the '{self.lang}' catalog ({po_path(self.lang)})"
            )
        s = self.translations.ngettext(key, key + "#plural", n)
        return s.format(**{"n": n, **kw})
