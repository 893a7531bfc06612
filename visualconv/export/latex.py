r"""A snapshot as LaTeX: each matrix as a ``bmatrix`` and the step's equation lines.

:func:`figure_fragment` gives the body to paste into slides (it needs ``amsmath``,
``amssymb`` and ``xcolor``, which beamer loads except ``amssymb``); :func:`figure_standalone`
wraps it in a ``standalone`` document that compiles on its own with pdflatex.

In the matrices, cells of this overlay's window or element are bold, padding is grey and
values not computed yet are a centred dot. Grids too large to read (more than
``MAX_NUMBERED`` rows or columns) are left out with a note; the CSV export has them.
The equation lines are :func:`visualconv.engine.explain.explain`'s text, set in math.
"""

from __future__ import annotations

import re

from ..engine.numbers import DEFAULT
from .figure import Figure, Grid, Panel

_TOKEN = re.compile(
    r"(?P<num>(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_](?:[A-Za-z0-9_']|-(?=[A-Za-z]))*)"
    r"|(?P<op>->|\+=|\S)"
    r"|(?P<space>\s+)"
)

_NAMES = {
    "A_prev": r"A_{\mathrm{prev}}",
    "A_pad": r"A_{\mathrm{pad}}",
    "dA_prev": r"dA_{\mathrm{prev}}",
    "dA_pad": r"dA_{\mathrm{pad}}",
    "rot180": r"\operatorname{rot180}",
    "sum": r"\operatorname{sum}",
    "max": r"\max",
    "flatten": r"\operatorname{flatten}",
}
_FUNCTIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "identity")
_SYMBOLS = {"dW", "db", "dZ", "dY", "dA", "W", "Z", "Y", "A", "x", "y", "z", "a", "b", "f", "f'", "k", "n"}
_OPS = {
    "->": r"\rightarrow ",
    "+=": r"\mathrel{+}= ",
    "*": r"\cdot ",
    "⊙": r"\odot ",
    "⋆": r"\star ",
    "✓": r"\;\checkmark",
    "✗": r"\;\times",
    "×": r"\times ",
    ",": r",\allowbreak ",
    ":": "{:}",
    ";": r";\ ",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "#": r"\#",
    "&": r"\&",
    "$": r"\$",
    "^": r"\hat{}",
    "~": r"\sim ",
    "\\": r"\backslash ",
    "_": r"\_",
    "·": r"\cdot ",
}
_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "#": r"\#",
    "&": r"\&",
    "$": r"\$",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
}


def tex_text(text: str) -> str:
    """Escape plain text for LaTeX's text mode."""
    return "".join(_TEXT_ESCAPES.get(ch, ch) for ch in text)


def tex_number(text: str) -> str:
    r"""A formatted number in math: ``1.2e-5`` becomes ``1.2\times10^{-5}``."""
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa}\times10^{{{int(exponent)}}}"
    return text


def _name(word: str) -> str | None:
    """Math for an identifier, or None when the word is prose."""
    if word in _NAMES:
        return _NAMES[word]
    base = word.rstrip("'")
    if base in _FUNCTIONS:
        escaped = base.replace("_", "\\_")
        return rf"\operatorname{{{escaped}}}" + "'" * (len(word) - len(base))
    if word in _SYMBOLS:
        return word
    return None


def math_line(text: str) -> str:
    r"""One line of explain() text as LaTeX math (without the surrounding ``$``).

    Numbers and identifiers become math, operators their LaTeX symbols, and runs of
    English words ``\text{...}``; leading indentation becomes ``\quad``.
    """
    indent = len(text) - len(text.lstrip(" "))
    out: list[str] = [r"\quad " * (indent // 2)]
    prose: list[str] = []

    def flush() -> None:
        if prose:
            words = "".join(prose)
            stripped = words.rstrip(" ")
            out.append(rf"\text{{{tex_text(stripped)}}}" + (r"\ " if len(stripped) < len(words) else ""))
            prose.clear()

    spaced = False  # a space came before this token (outside prose)
    for match in _TOKEN.finditer(text.strip(" ")):
        kind, token = match.lastgroup, match.group()
        after_space, spaced = spaced, kind == "space" and not prose
        if kind == "name":
            math = _name(token)
            if math is None:
                if not prose and after_space and out[-1]:
                    out.append(r"\ ")
                prose.append(token)
                continue
            flush()
            out.append(math + " ")
        elif kind == "space":
            if prose:
                prose.append(" ")
            elif out and out[-1] == "{:}":
                out.append(r"\quad ")
        elif kind == "num":
            if prose and prose[-1] == " " and len(prose) > 1:
                # "overlay 1": keep the number with its words
                prose.append(token)
                continue
            flush()
            out.append(tex_number(token) + " ")
        else:
            flush()
            if token == "(" and after_space:
                out.append(r"\ ")
            rest = text.strip(" ")[match.end() :]
            following = _TOKEN.match(rest.lstrip(" "))
            convolution = following is not None and following.lastgroup != "num"
            if token == "*" and after_space and rest[:1] == " " and convolution:
                out.append(r"\ast ")  # ``dZ * rot180(W)``: a convolution, not a product
                continue
            out.append(_OPS.get(token, token))
    flush()
    return "".join(out).strip()


def _title(panel: Panel) -> str:
    """The matrix's name in math: the panel title before any ``=`` (``dZ = dA ⊙ f'(Z)`` is dZ)."""
    return math_line(panel.title.split(" = ")[0])


def _cell(grid: Grid, i: int, j: int, limit: float) -> str:
    if not grid.shown[i, j]:
        return r"\cdot"
    text = tex_number(DEFAULT.figure_cell(float(grid.values[i, j]), limit))
    if grid.outline[i, j]:
        text = rf"\mathbf{{{text}}}"
    if grid.muted[i, j]:
        text = rf"\textcolor{{gray}}{{{text}}}"
    return text


def bmatrix(grid: Grid, limit: float) -> str:
    r"""A grid as ``\begin{bmatrix} ... \end{bmatrix}``."""
    h, w = grid.shape
    rows = [" & ".join(_cell(grid, i, j, limit) for j in range(w)) for i in range(h)]
    return "\\begin{bmatrix}\n" + " \\\\\n".join(rows) + "\n\\end{bmatrix}"


def _grid_label(grid: Grid) -> str:
    if not grid.label:
        return ""
    return r"\;[" + grid.label.replace("=", "{=}").replace(", ", r",\,") + "]"


def figure_fragment(figure: Figure) -> str:
    """The LaTeX body of a snapshot: caption, matrices and equation lines."""
    lines = [
        "% visualconv snapshot; needs \\usepackage{amsmath,amssymb,xcolor}",
        "% and \\setcounter{MaxMatrixCols}{20}",
        rf"\noindent\textbf{{{tex_text(figure.title)}}}\\",
        rf"{tex_text(figure.caption)}\par\medskip",
        "",
    ]
    for row in figure.panels:
        items = []
        for panel in row:
            limit = figure.style.limits.get(panel.key, 1.0)
            for grid in panel.grids:
                name = _title(panel) + _grid_label(grid)
                if max(grid.shape) > 20 or not panel.numbered:
                    items.append(
                        rf"${name}$ \text{{({grid.shape[0]}\,$\times$\,{grid.shape[1]} values, not shown)}}"
                    )
                else:
                    items.append(f"$\\displaystyle {name} = {bmatrix(grid, limit)}$")
        lines.append("\n\\quad\n".join(items))
        lines.append(r"\par\medskip")
        lines.append("")
    lines.append(r"{\small")
    for line in figure.lines:
        lines.append(rf"\noindent${math_line(line)}$\par")
    lines.append("}")
    return "\n".join(lines) + "\n"


def figure_standalone(figure: Figure) -> str:
    """A complete ``standalone`` document around :func:`figure_fragment`."""
    return (
        "\\documentclass[border=10pt,varwidth=32cm]{standalone}\n"
        "\\usepackage[T1]{fontenc}\n"
        "\\usepackage{amsmath,amssymb,xcolor}\n"
        "\\setcounter{MaxMatrixCols}{20}\n"
        "\\begin{document}\n" + figure_fragment(figure) + "\\end{document}\n"
    )
