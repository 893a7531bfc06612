r"""Text from a model file is data: escapes for every place it is written to.

A model's ``name`` and ``description`` (and any other text a file carries) reach the
terminal, SVG/PDF/PNG exports, LaTeX and the lecture pack's Markdown. Each sink calls
one function here, so a hostile name (an escape sequence, ``<script>``, a LaTeX
``\input``) is shown as the characters it holds and does nothing:

- :func:`printable` — the terminal and painted text: control, format (bidi overrides,
  zero-width) and unassigned characters become visible escapes (``\x1b``, ``\u202e``).
- :func:`markdown_text` — Markdown and HTML: :func:`printable`, then HTML's special
  characters as entities and Markdown's as backslash escapes.
- :func:`code_fence` — a fence longer than any run of backticks in a code block.
- LaTeX: :func:`visualconv.export.latex.tex_text` (it calls :func:`printable` first).

Qt-free.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["code_fence", "markdown_text", "printable"]


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    r"""``text`` with every non-printable character written as a visible escape.

    Parameters
    ----------
    text : str
    keep_newlines : bool
        Keep ``\n`` (and turn ``\t`` into a space) for text that may span lines.

    Returns
    -------
    str
        Only printable characters (and spaces, and newlines when kept).
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif keep_newlines and ch == "\n":
            out.append(ch)
        elif keep_newlines and ch == "\t":
            out.append(" ")
        else:
            out.append(_escape(ch))
    return "".join(out)


_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_MARKDOWN = re.compile(r"([\\`*_\[\]()|~])")
_LINE_START = re.compile(r"^(\s*)([#+=-]|\d+(?=[.)]))")


def _line_start(match: re.Match[str]) -> str:
    r"""``# x`` -> ``\# x``; ``2. x`` -> ``2\. x`` (a heading or list marker no more)."""
    lead, marker = match.group(1), match.group(2)
    return lead + ("\\" + marker if not marker.isdigit() else marker + "\\")


def markdown_text(text: str, *, keep_newlines: bool = False) -> str:
    r"""Text for Markdown (and the HTML it may be rendered to): shown as written, never markup.

    ``<script>`` becomes ``&lt;script&gt;``; emphasis, code, links, tables and
    strike-through lose their meaning (a backslash before ``\ ` * _ [ ] ( ) | ~``), and so do
    headings and list markers at the start of a line; control characters are escaped.
    With ``keep_newlines``, each line ends in a Markdown hard break.
    """
    safe = printable(text, keep_newlines=keep_newlines)
    safe = _MARKDOWN.sub(r"\\\1", safe)
    safe = "".join(_HTML.get(ch, ch) for ch in safe)
    lines = [_LINE_START.sub(_line_start, line) for line in safe.split("\n")]
    return "  \n".join(line.strip() for line in lines) if keep_newlines else lines[0]


def code_fence(lines: Iterable[str]) -> str:
    """A backtick fence that no line of a code block can close (longer than its longest run)."""
    longest = 0
    for line in lines:
        for run in re.findall(r"`+", line):
            longest = max(longest, len(run))
    return "`" * max(3, longest + 1)
