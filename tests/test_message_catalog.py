"""Every message the package raises has a catalog key, in both languages, with the same fields.

Walks the source (AST): every :class:`~analysis.errors.InputProblem` built (directly or through
the builders ``_fail``, ``_problem`` and ``_Check.problem``) and every
:class:`~analysis.errors.AnalysisError` subclass raised passes ``key=``; each key (with the
``input.`` / ``error.`` prefix) is in the ``id`` and ``en`` catalogs with the same ``{fields}``,
the fields the call passes; :class:`~analysis.errors.Term` and
:class:`~analysis.errors.Phrase` arguments name entries that exist; and no ``input.*``,
``error.*`` or ``cli.*`` entry is left unused.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

import analysis.errors as errors_mod
from analysis import paths
from analysis.report.catalog import load

SRC = paths.PACKAGE_DIR
#: Functions that build an InputProblem from their arguments (their calls need a key too).
BUILDERS = {"InputProblem", "_fail", "_problem", "problem"}
#: Exceptions whose text is their problems' (each problem has its key).
CARRIERS = {"InputFileError"}
PREFIXES = ("input.", "error.", "cli.")


def _error_classes() -> set[str]:
    """Names of AnalysisError and its subclasses defined in the package."""
    names = {
        n
        for n, c in vars(errors_mod).items()
        if isinstance(c, type) and issubclass(c, errors_mod.AnalysisError)
    }
    for path in SRC.rglob("*.py"):  # subclasses defined elsewhere
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id in names for b in node.bases
            ):
                names.add(node.name)
    return names


ERRORS = _error_classes()


def _name(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _strings(node: ast.AST | None) -> list[str] | None:
    """The literal keys a ``key=`` expression can take (a literal or a choice of literals)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _strings(node.body), _strings(node.orelse)
        return None if a is None or b is None else a + b
    return None


def _calls():
    """(file, line, kind, call) for every message built in the package."""
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "messages.py" and path.parent.name == "report":
            continue  # the renderer: it reads keys, it raises none
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node)
            if name in BUILDERS and (name != "problem" or isinstance(node.func, ast.Attribute)):
                yield path, node.lineno, "input", node
            elif name in ERRORS and name not in CARRIERS:
                yield path, node.lineno, "error", node


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _passes_through(call: ast.Call) -> bool:
    """A builder forwarding ``**kw`` or its ``key`` parameter (its own callers pass the key)."""
    return any(k.arg is None for k in call.keywords) or isinstance(_kw(call, "key"), ast.Name)


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


CATALOGS = {lang: load(lang) for lang in ("id", "en")}


def _text(lang: str, key: str) -> str:
    return CATALOGS[lang]._keys[key].string


def _used_keys() -> tuple[dict[str, tuple[Path, int, set[str] | None]], set[str], list[str]]:
    """Keys used (with the fields their call passes, when literal), key prefixes used, errors."""
    used: dict[str, tuple[Path, int, set[str] | None]] = {}
    prefixes: set[str] = set()
    bad: list[str] = []
    for path, line, kind, call in _calls():
        where = f"{path.relative_to(SRC)}:{line}"
        if kind == "input" and _passes_through(call):
            continue
        keys = _strings(_kw(call, "key"))
        if keys is None:
            bad.append(f"{where}: no literal key= ({kind})")
            continue
        if kind == "input":
            args = _kw(call, "args")
            fields = (
                {k.value for k in args.keys if isinstance(k, ast.Constant)}
                if isinstance(args, ast.Dict) and None not in args.keys
                else (set() if args is None else None)
            )
            for k in keys:
                used[f"input.{k}"] = (path, line, fields)
                used[f"input.{k}.fix"] = (path, line, fields)
        else:
            fields = {k.arg for k in call.keywords if k.arg and k.arg != "key"}
            if any(k.arg is None for k in call.keywords):
                fields = None
            for k in keys:
                used[f"error.{k}"] = (path, line, fields)
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name, first = _name(node), node.args[0]
            if name in ("Term", "Phrase"):
                if _strings(first) is not None:
                    for k in _strings(first):
                        used.setdefault(f"input.{k}", (path, node.lineno, None))
                elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                    prefixes.add(f"input.{first.values[0].value}")
                else:
                    bad.append(f"{path.relative_to(SRC)}:{node.lineno}: {name} of a non-literal")
            elif name in ("say", "t") and _strings(first) is not None:
                for k in _strings(first):
                    if k.startswith(PREFIXES):
                        used.setdefault(k, (path, node.lineno, None))
            elif name == "t" and isinstance(first, ast.JoinedStr):
                head = first.values[0]
                if isinstance(head, ast.Constant) and str(head.value).startswith(PREFIXES):
                    prefixes.add(str(head.value))
    return used, prefixes, bad


USED, PREFIXES_USED, BAD = _used_keys()


def test_every_problem_and_error_passes_a_key():
    assert not BAD, "\n".join(BAD)
    assert len(USED) > 200  # the walk found the package's messages


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_key_used_is_in_the_catalog(lang):
    missing = sorted(k for k in USED if not CATALOGS[lang].has(k))
    assert not missing, f"not in the {lang} catalog: {missing}"


def test_both_languages_have_the_same_fields_and_the_call_passes_them():
    wrong = []
    for key, (path, line, passed) in sorted(USED.items()):
        if not all(CATALOGS[lang].has(key) for lang in CATALOGS):
            continue
        fid, fen = _fields(_text("id", key)), _fields(_text("en", key))
        if fid != fen:
            wrong.append(f"{key}: id {sorted(fid)} != en {sorted(fen)}")
        if passed is not None and not fen <= passed:
            wrong.append(f"{key} ({path.name}:{line}): needs {sorted(fen - passed)}")
    assert not wrong, "\n".join(wrong)


def test_no_catalog_entry_is_unused():
    keys = {k for k in CATALOGS["en"].keys() | CATALOGS["id"].keys() if k.startswith(PREFIXES)}
    unused = sorted(
        k
        for k in keys
        if k not in USED
        and not any(k.startswith(p) for p in PREFIXES_USED)
        and not k.startswith(("input.where.", "input.value", "input.line", "error.os"))
        and k not in ("error.more_problems", "error.interrupted")
    )
    assert not unused, unused


def test_the_walk_sees_a_call_without_a_key():
    """The check can fail: a raise without key= is reported."""
    tree = ast.parse("raise OptionError('x')\nInputProblem('f', 'm', 'fix')")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert all(_strings(_kw(c, "key")) is None for c in calls)
    assert re.search(r"\{(\w+)\}", _text("en", "input.not_a_number.fix"))
