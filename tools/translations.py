"""visualconv's gettext catalogues: extract, update, compile and check them (Babel).

    python tools/translations.py update     # marked strings -> visualconv/locale/visualconv.pot and every .po
    python tools/translations.py compile    # every .po -> its .mo (shipped in the package)
    python tools/translations.py check      # what .ci/run runs; exit 1 with one line per problem

``check`` fails when

- a catalogue misses a marked message, has an empty or fuzzy entry, or its compiled
  ``.mo`` is not what its ``.po`` compiles to (run ``update``/``compile``);
- a translation drops or invents a ``{placeholder}`` of its English;
- a text-showing call (``setText``, ``setToolTip``, ``QAction(...)``, ``QMessageBox.warning``,
  ``addMenu``, ``showMessage``, ``QLabel(...)``, ``ModelError`` raised in the window ...) is
  given a bare string literal or f-string instead of ``_()``/``ngettext``/``pgettext``
  (files under :data:`SCANNED`; a literal on :data:`ALLOWED` or a line carrying the
  comment ``# i18n: ok`` is let through).

docs/translating.md says how to translate.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "visualconv"
LOCALE = PACKAGE / "locale"
DOMAIN = "visualconv"
TEMPLATE = LOCALE / f"{DOMAIN}.pot"
LOCALES = ("de", "pt_BR", "id", "zh_CN")
# Message: visualconv.engine.errors.Message, a model-file message whose template is the msgid.
KEYWORDS = {
    "_": None,
    "N_": None,
    "gettext_": None,
    "Message": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
}
COMMENT_TAGS = ("i18n:", "Translators:")

# Where shown text is looked for unmarked strings (relative to the package).
SCANNED = ("app",)
# Calls (method or constructor names) whose string arguments a person reads: the positions of
# those arguments (None: every argument; keywords always count).
ALL = None
TEXT_CALLS: dict[str, tuple[int, ...] | None] = {
    **dict.fromkeys(
        (
            "setText",
            "setToolTip",
            "setStatusTip",
            "setWhatsThis",
            "setWindowTitle",
            "setTitle",
            "setPlaceholderText",
            "setLabelText",
            "setPrefix",
            "setSuffix",
            "setSpecialValueText",
            "setHorizontalHeaderLabels",
            "setVerticalHeaderLabels",
            "setHeaderLabels",
            "showMessage",
            "addMenu",
            "QAction",
            "QMenu",
            "QLabel",
            "QPushButton",
            "QToolButton",
            "QCheckBox",
            "QRadioButton",
            "QGroupBox",
            "QDockWidget",
            "QProgressDialog",
            "information",
            "warning",
            "critical",
            "question",
            "about",
            "getOpenFileName",
            "getSaveFileName",
            "getExistingDirectory",
            "addRow",
        ),
        ALL,
    ),
    "ModelError": (0,),
    "addItem": (0,),
    "addItems": (0,),
    "insertItem": (1,),
    "addTab": (1,),
    "insertTab": (2,),
    "setTabText": (1,),
    "setTabToolTip": (1,),
    "setItemText": (1,),
    "_action": (1,),
    "add_dock": (1,),
}
# Literals that are not words in any language: empty, punctuation and numbers, array names
# (W, dW, dA_prev, A_pad), the product's name, file names.
ALLOWED = re.compile(
    r"^\s*(|visualconv|[-+*/=×→←↑↓·…:;,.()\[\]{}<>|%#•✓✗0-9\s]*|d?[A-Z]{1,2}(_[a-z]+)?|[a-z]{1,2}"
    r"|#[0-9a-fA-F]{3,8}|\d+(pt|px)|.*\.(json|png|svg|pdf))\s*$"
)
MARKERS = {"_", "N_", "gettext_", "ngettext", "pgettext", "tr", "translate", "Message"}


def extract() -> object:
    """A Babel catalogue of every marked message in the package."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="visualconv", domain=DOMAIN, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        catalog.add(
            message,
            None,
            [(f"visualconv/{filename}", lineno)],
            auto_comments=comments,
            context=context,
            flags=("python-brace-format",)
            if "{" in (message[0] if isinstance(message, tuple) else message)
            else (),
        )
    return catalog


def po_path(code: str) -> Path:
    """The .po file of a catalogue code."""
    return LOCALE / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(path: Path, code: str) -> object:
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        return read_po(f, locale=code, domain=DOMAIN)


def _po_bytes(catalog: object) -> bytes:
    from babel.messages.pofile import write_po

    out = io.BytesIO()
    write_po(out, catalog, width=100, sort_output=False, include_previous=False, include_lineno=False)  # type: ignore[arg-type]
    return out.getvalue()


def _mo_bytes(catalog: object) -> bytes:
    from babel.messages.mofile import write_mo

    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)  # type: ignore[arg-type]
    return out.getvalue()


def update() -> None:
    """Write the template and bring every .po up to it (new messages empty, gone ones dropped)."""
    from babel.messages.catalog import Catalog

    template = extract()
    TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    TEMPLATE.write_bytes(_strip_dates(_po_bytes(template)))
    for code in LOCALES:
        path = po_path(code)
        if path.exists():
            catalog = _read(path, code)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=code, domain=DOMAIN, project="visualconv", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)  # type: ignore[attr-defined]
        catalog.obsolete.clear()  # type: ignore[attr-defined]
        catalog.fuzzy = False  # type: ignore[attr-defined]
        catalog.last_translator = "visualconv developers"  # type: ignore[attr-defined]
        catalog.language_team = f"{code} (see docs/glossary.md)"  # type: ignore[attr-defined]
        path.write_bytes(_strip_dates(_po_bytes(catalog)))
        print(f"{path.relative_to(ROOT)}: {_count_unfinished(catalog)} unfinished")


def _strip_dates(data: bytes) -> bytes:
    """Fixed header dates, so an update that changes nothing changes no byte."""
    data = re.sub(
        rb'"POT-Creation-Date: [^"\\]*\\n"', b'"POT-Creation-Date: 2026-01-01 00:00+0000\\\\n"', data
    )
    return re.sub(rb'"PO-Revision-Date: [^"\\]*\\n"', b'"PO-Revision-Date: 2026-01-01 00:00+0000\\\\n"', data)


def compile_all() -> None:
    """Every .po to its .mo beside it."""
    for code in LOCALES:
        catalog = _read(po_path(code), code)
        po_path(code).with_suffix(".mo").write_bytes(_mo_bytes(catalog))


def _count_unfinished(catalog: object) -> int:
    return sum(1 for m in catalog if m.id and (m.fuzzy or not _complete(m)))  # type: ignore[attr-defined]


def _complete(message: object) -> bool:
    s = message.string  # type: ignore[attr-defined]
    return all(s) if isinstance(s, (tuple, list)) else bool(s)


FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z_0-9]*)[^{}]*\}")


def catalogue_problems() -> Iterator[str]:
    """Missing, empty, fuzzy or mismatched entries and stale .mo files."""
    template = extract()
    wanted = {(m.id if not isinstance(m.id, tuple) else m.id[0], m.context) for m in template if m.id}  # type: ignore[attr-defined]
    for code in LOCALES:
        path = po_path(code)
        rel = path.relative_to(ROOT)
        if not path.exists():
            yield f"{rel}: missing (python tools/translations.py update)"
            continue
        catalog = _read(path, code)
        have = {}
        for m in catalog:  # type: ignore[attr-defined]
            if not m.id:
                continue
            key = (m.id if not isinstance(m.id, tuple) else m.id[0], m.context)
            have[key] = m
            if m.fuzzy:
                yield f"{rel}:{m.lineno}: fuzzy entry {key[0]!r}"
            elif not _complete(m):
                yield f"{rel}:{m.lineno}: untranslated {key[0]!r}"
            else:
                ids = m.id if isinstance(m.id, tuple) else (m.id,)
                strings = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
                fields = set(FIELD.findall(ids[-1])) | set(FIELD.findall(ids[0]))
                for s in strings:
                    if not set(FIELD.findall(s)) <= fields:
                        yield f"{rel}:{m.lineno}: placeholders of {key[0]!r} differ in {s!r}"
        for key in sorted(wanted - set(have), key=str):
            yield f"{rel}: lacks {key[0]!r} (python tools/translations.py update)"
        mo = path.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != _mo_bytes(catalog):
            yield f"{mo.relative_to(ROOT)}: not compiled from its .po (python tools/translations.py compile)"


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _unmarked(node: ast.expr) -> Iterator[ast.expr]:
    """String literals and f-strings among the arguments that reach a person unmarked."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if not ALLOWED.match(node.value):
            yield node
    elif isinstance(node, ast.JoinedStr):
        literal = "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
        if not ALLOWED.match(literal):
            yield node
    elif isinstance(node, ast.BinOp):
        yield from _unmarked(node.left)
        yield from _unmarked(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _unmarked(node.body)
        yield from _unmarked(node.orelse)
    elif isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            yield from _unmarked(element)


def source_problems(paths: list[Path] | None = None) -> Iterator[str]:
    """Unmarked text given to the calls of :data:`TEXT_CALLS` in the files of :data:`SCANNED`."""
    files = paths if paths is not None else sorted(f for d in SCANNED for f in (PACKAGE / d).rglob("*.py"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text, str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _name(node.func) not in TEXT_CALLS:
                continue
            positions = TEXT_CALLS[_name(node.func)]
            shown = [a for i, a in enumerate(node.args) if positions is None or i in positions]
            arguments = shown + [k.value for k in node.keywords if k.arg not in ("objectName", "userData")]
            for argument in arguments:
                for bad in _unmarked(argument):
                    if "i18n: ok" in lines[bad.lineno - 1] or "i18n: ok" in lines[node.lineno - 1]:
                        continue
                    shown = ast.unparse(bad)
                    shown = shown if len(shown) <= 60 else shown[:57] + "..."
                    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                    yield f"{rel}:{bad.lineno}: {_name(node.func)}() shows {shown} unmarked: wrap it in _()"


def shadowing_problems() -> Iterator[str]:
    """Functions that call ``_()`` and also assign ``_`` (``x, _ = ...``): the call would fail."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            stores = [
                n
                for n in ast.walk(func)
                if isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store)
            ]
            calls = any(isinstance(n, ast.Call) and _name(n.func) == "_" for n in ast.walk(func))
            if stores and calls:
                rel = path.relative_to(ROOT)
                yield f"{rel}:{stores[0].lineno}: assigns _ in a function that calls _(): use another name"


def main(argv: list[str] | None = None) -> int:
    """The command line of this tool."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("update", "compile", "check"))
    args = parser.parse_args(argv)
    if args.command == "update":
        update()
        return 0
    if args.command == "compile":
        compile_all()
        return 0
    problems = [*source_problems(), *shadowing_problems(), *catalogue_problems()]
    for line in problems:
        print(line)
    print(
        f"translations: {len(problems)} problem(s)"
        if problems
        else "translations: every shown string is marked and translated"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
