"""Village codes: normalise the forms they arrive in, and compare village names.

Kemendagri codes are province 2 digits, kabupaten/kota 2, kecamatan 2, village 4
(``64.02.02.2010`` dotted, ``6402022010`` undotted). Spreadsheets store the undotted form as a
number, so ``6402022010.0`` and ``6.402022010E9`` occur. BPS (Podes) codes have the same shape
but are a different system: the system is declared by the user and never guessed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import pandas as pd

#: Code systems a user may declare. Only Kemendagri codes can be matched to the frame.
CODE_SYSTEMS = ("kemendagri", "bps")

#: Number of digits at each level: province, kabupaten/kota, kecamatan, village.
LEVEL_DIGITS = {1: 2, 2: 4, 3: 6, 4: 10}

#: Names at least this similar (after normalising, spaces removed) are spelling variants of one
#: village (PEPES ASA / Pepas Asa is 0.875); below it they are taken as different villages.
SPELLING_VARIANT_RATIO = 0.75

_FLOAT_FORM = re.compile(r"^(\d+)\.0*$")
_SCI_FORM = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_DOTTED = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
_NAME_PREFIX = re.compile(r"^(desa|kelurahan|kel|kampung|kab|kabupaten|kota|kec|kecamatan)\.?\s+")


@dataclass(frozen=True, kw_only=True)
class CodeResult:
    """Outcome of normalising one raw code: ``code`` (dotted) or ``reason`` why not."""

    code: str | None
    reason: str | None = None
    #: The reason as a code (catalog ``input.code.<why>``) and its fields, for messages worded
    #: in the run's language.
    why: str | None = None
    why_args: dict | None = None


def normalize_code(raw: object, level: int = 4) -> CodeResult:
    """Normalise one village (or higher-level) code to the dotted Kemendagri form.

    Parameters
    ----------
    raw
        A code as it arrived: ``"64.02.02.2010"``, ``"6402022010"``, ``6402022010``,
        ``6402022010.0``, ``"6402022010.0"``, ``" 6402022010 "``.
    level
        1 province, 2 kabupaten/kota, 3 kecamatan, 4 village.

    Returns
    -------
    CodeResult
        The dotted code, or ``None`` with the reason it cannot be a code.
    """
    if raw is None or (isinstance(raw, float) and pd.isna(raw)) or raw is pd.NA:
        return CodeResult(code=None, reason="the code is empty", why="empty")
    if isinstance(raw, bool):
        return CodeResult(code=None, reason="a true/false value is not a code", why="boolean")
    if isinstance(raw, float):
        if not raw.is_integer():
            return CodeResult(code=None, reason="a code cannot have decimals", why="decimals")
        text = str(int(raw))
    else:
        text = str(raw).strip().replace("\u00a0", "").replace(" ", "")
    if not text:
        return CodeResult(code=None, reason="the code is empty", why="empty")
    m = _FLOAT_FORM.match(text)
    if m:
        text = m.group(1)
    elif _SCI_FORM.match(text):
        value = float(text)
        if not value.is_integer():
            return CodeResult(code=None, reason="a code cannot have decimals", why="decimals")
        text = str(int(value))
    digits_needed = LEVEL_DIGITS[level]
    if "." in text:
        if not _DOTTED.match(text):
            return CodeResult(
                code=None, reason="dotted codes look like 64.02.02.2010", why="dotted"
            )
        text = text.replace(".", "")
    if not text.isdigit():
        return CodeResult(code=None, reason="a code holds digits (and dots) only", why="not_digits")
    if len(text) != digits_needed:
        return CodeResult(
            code=None,
            reason=f"a level-{level} code has {digits_needed} digits, this one has {len(text)}",
            why="digits",
            why_args={"level": level, "needed": digits_needed, "has": len(text)},
        )
    parts = [text[0:2], text[2:4], text[4:6], text[6:10]][: level if level < 4 else 4]
    parts = [p for p in parts if p]
    return CodeResult(code=".".join(parts))


def undotted(code: str) -> str:
    """``64.02.02.2010`` -> ``6402022010``."""
    return code.replace(".", "")


def parent_code(code: str, level: int) -> str:
    """The code of the region containing ``code`` at ``level`` (1-3)."""
    return ".".join(code.split(".")[:level])


def village_kind(code: str) -> str:
    """``desa``, ``kelurahan`` or ``desa_adat`` from the first digit of the village block."""
    first = code.split(".")[3][:1]
    return {"1": "kelurahan", "2": "desa", "3": "desa_adat"}.get(first, "unknown")


def normalize_name(name: object) -> str:
    """Lower case, punctuation to spaces, one space, without a leading ``Desa``/``Kab.``."""
    if name is None or (isinstance(name, float) and pd.isna(name)):
        return ""
    s = re.sub(r"[^a-z0-9 ]+", " ", str(name).lower())
    s = re.sub(r"\s+", " ", s).strip()
    return _NAME_PREFIX.sub("", s, count=1)


def name_similarity(a: object, b: object) -> float:
    """Similarity in [0, 1] of two names after :func:`normalize_name`, spaces ignored."""
    x, y = normalize_name(a).replace(" ", ""), normalize_name(b).replace(" ", "")
    if not x or not y:
        return 0.0
    return difflib.SequenceMatcher(None, x, y).ratio()


def compare_names(given: object, official: str) -> str:
    """``same``, ``variant`` (spelling differs) or ``different`` (another village)."""
    if normalize_name(given) == normalize_name(official):
        return "same"
    return "variant" if name_similarity(given, official) >= SPELLING_VARIANT_RATIO else "different"
