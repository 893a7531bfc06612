r"""A step as LaTeX: each matrix as a ``bmatrix`` in heat-map colours, and the equations.

:func:`slide_fragment` gives the body to paste into slides (it needs ``amsmath``,
``amssymb``, ``xcolor`` and ``colortbl``); :func:`slide_standalone` wraps it in a
``standalone`` document that compiles on its own with pdflatex.

In the matrices every cell has the window's number and heat-map colour
(``\cellcolor``), cells of this overlay's window or element are bold, padding is grey
and values not computed yet are a dot. Grids too large to read (more than
``MAX_NUMBERED`` rows or columns) are left out with a note; the CSV export has them.
The equation lines are :func:`visualconv.engine.explain.explain`'s text, set in math.
"""

from __future__ import annotations

import re

from ..i18n import _
from ..textsafe import printable
from .slides import INK, Slide, SlidePanel, Tile

_TOKEN = re.compile(
    r"(?P<num>(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_À-ÖØ-öø-ÿ](?:[A-Za-z0-9_'À-ÖØ-öø-ÿ]|-(?=[A-Za-zÀ-ÖØ-öø-ÿ]))*)"
    r"|(?P<wide>[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]+)"
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
    "²": "^{2}",
    "−": "-",
}
# After these a negative number is a factor or a term and gets parentheses.
_FACTOR_OPS = {r"\cdot", r"\times", r"\odot", r"\ast", r"\star", "+", "-", "/"}
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


# Symbols of panel notes and model text that pdflatex's text mode cannot take as they are.
_TEXT_SYMBOLS = {
    "×": r"\ensuremath{\times}",
    "·": r"\textperiodcentered{}",
    "−": "-",
    "–": "--",
    "—": "---",
    "⊙": r"\ensuremath{\odot}",
    "⋆": r"\ensuremath{\star}",
    "≈": r"\ensuremath{\approx}",
    "²": r"\textsuperscript{2}",
    "∞": r"\ensuremath{\infty}",
    "→": r"\ensuremath{\rightarrow}",
    "✓": r"\ensuremath{\checkmark}",
    "◥": r"\ensuremath{\blacktriangle}",
    "‘": "`",
    "’": "'",
    "“": "``",
    "”": "''",
    "…": r"\ldots{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


def is_cjk(ch: str) -> bool:
    """Whether the CJK package's ``gbsn`` font (GB 2312) sets ``ch``: Chinese, its punctuation, kana."""
    if not ("\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\ufe30" <= ch <= "\uffef"):
        return False
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def needs_cjk(tex: str) -> bool:
    r"""Whether LaTeX from :func:`tex_text` or :func:`math_line` has text for the CJK package.

    Such a document loads ``CJKutf8`` and sets its body in ``\begin{CJK}{UTF8}{gbsn}``
    (:func:`document_body`); every other document stays as it was, without the package.
    """
    return any(ord(ch) > 0xFF and is_cjk(ch) for ch in tex)


CJK_NOTE = (
    "% Chinese text: needs \\usepackage{CJKutf8} and \\begin{CJK}{UTF8}{gbsn} ... \\end{CJK} around it\n"
    "% (Debian/Ubuntu: apt-get install latex-cjk-common latex-cjk-chinese-arphic-gbsn00lp)\n"
)


def document(preamble: str, body: str, cjk: bool | None = None) -> str:
    r"""A document: ``preamble`` (``\documentclass`` and packages), then ``body`` in ``document``.

    When the body has Chinese text (:func:`needs_cjk`; or ``cjk`` says so, for a body that
    ``\input``\ s it) the preamble loads ``CJKutf8`` and the body is set in
    ``\begin{CJK}{UTF8}{gbsn}``; any other document is exactly
    ``preamble + "\\begin{document}\n" + body + "\\end{document}\n"``.
    """
    if needs_cjk(body) if cjk is None else cjk:
        preamble += "\\usepackage{CJKutf8}\n"
        body = "\\begin{CJK}{UTF8}{gbsn}\n" + body + "\\end{CJK}\n"
    return preamble + "\\begin{document}\n" + body + "\\end{document}\n"


def tex_text(text: str) -> str:
    r"""Escape plain text (from the model file too) for LaTeX's text mode.

    LaTeX's special characters are escaped; ASCII and Latin-1 letters stay (T1 encoding);
    a few symbols become their LaTeX commands; control characters become visible escapes
    (``\x1b``, as on the terminal); Chinese characters and their punctuation stay as they
    are (:func:`is_cjk`; the document then sets them with the CJK package, :func:`document_body`);
    any other character (scripts pdflatex has no font for) becomes ``?``, so the document
    always compiles.
    """
    out = []
    for ch in printable(text, keep_newlines=True):  # a control character shows as \x1b
        if ch in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[ch])
        elif ch in _TEXT_SYMBOLS:
            out.append(_TEXT_SYMBOLS[ch])
        elif ch in "\n\t":
            out.append(" ")
        elif 32 <= ord(ch) < 127 or (0xC0 <= ord(ch) <= 0xFF) or is_cjk(ch):
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)


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
    text = printable(text)  # a control character becomes a visible escape, never raw input
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
        if kind == "wide":  # Chinese words and punctuation: prose
            if not prose and after_space and out[-1]:
                out.append(r"\ ")
            prose.append(token)
            continue
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
            number = tex_number(token)
            if token.startswith("-") and out and out[-1].strip() in _FACTOR_OPS:
                number = f"({number})"  # 1 \cdot (-0.1), 0.2 + (-0.03)
            out.append(number + " ")
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
            out.append(_OPS.get(token, token if token.isascii() else r"\text{?}"))
    flush()
    return "".join(out).strip()


def _title(panel: SlidePanel) -> str:
    """The matrix's name in math: the panel title before any ``=`` (``dZ = dA ⊙ f'(Z)`` is dZ)."""
    return math_line(panel.title.split(" = ")[0])


def _cell(tile: Tile, c: int, bold: bool) -> str:
    fill = rf"\cellcolor{{vc{tile.fills[c]}}}"
    text = tile.texts[c]
    if not text:
        return fill + r"\cdot"
    number = r"\approx 0" if text == "≈0" else tex_number(text).replace("∞", r"\infty")
    if bold:
        number = rf"\mathbf{{{number}}}"
    ink = "" if tile.inks[c] == INK else rf"\color{{vc{tile.inks[c]}}}"
    return fill + ink + number


def _colours(slide: Slide) -> str:
    r"""``\definecolor`` lines for the fills and inks a slide's matrices use."""
    codes = {
        code
        for row in slide.panels
        for panel in row
        for tile in panel.tiles
        for code in (*tile.fills, *tile.inks)
        if code != INK
    }
    return "".join(f"\\definecolor{{vc{c}}}{{HTML}}{{{c}}}\n" for c in sorted(codes))


def bmatrix(tile: Tile) -> str:
    r"""A tile as ``\begin{bmatrix} ... \end{bmatrix}``, each cell in its heat-map colour.

    Cells of the current window or element are bold; cells not computed yet are a dot.
    Needs ``colortbl`` (``\cellcolor``) and ``xcolor``.
    """
    h, w = tile.shape
    rows = [" & ".join(_cell(tile, i * w + j, bool(tile.outline[i, j])) for j in range(w)) for i in range(h)]
    return "\\begin{bmatrix}\n" + " \\\\\n".join(rows) + "\n\\end{bmatrix}"


def _grid_label(tile: Tile) -> str:
    if not tile.label:
        return ""
    return r"\;[" + tile.label.replace("=", "{=}").replace(", ", r",\,") + "]"


def _not_shown(shape: tuple[int, int]) -> str:
    r"""``(3\,$\times$\,40 values, not shown)`` in the language in use, for a grid too large to print."""
    before, shape_field, after = _("({shape} values, not shown)").partition("{shape}")
    size = rf"{shape[0]}\,$\times$\,{shape[1]}" if shape_field else ""
    return tex_text(before) + size + tex_text(after)


def slide_fragment(slide: Slide) -> str:
    """The LaTeX body of a step: caption, matrices in heat-map colours and equation lines."""
    lines = [
        "% visualconv snapshot; needs \\usepackage{amsmath,amssymb,xcolor,colortbl}",
        "% and \\setcounter{MaxMatrixCols}{20}",
        _colours(slide).rstrip("\n"),
        rf"\noindent\textbf{{{tex_text(slide.title)}}}\\",
        rf"{tex_text(slide.caption)}\par\medskip",
        "",
    ]
    for row in slide.panels:
        items = []
        for panel in row:
            for tile in panel.tiles:
                name = _title(panel) + _grid_label(tile)
                if max(tile.shape) > 20 or not panel.numbered:
                    items.append(rf"${name}$ \text{{{_not_shown(tile.shape)}}}")
                else:
                    items.append(f"$\\displaystyle {name} = {bmatrix(tile)}$")
        lines.append("\n\\quad\n".join(items))
        lines.append(r"\par\medskip")
        lines.append("")
    lines.append(r"{\small")
    for line in slide.lines:
        lines.append(rf"\noindent${math_line(line)}$\par")
    lines.append("}")
    body = "\n".join(lines) + "\n"
    if needs_cjk(body):
        body = body.replace("{20}\n", "{20}\n" + CJK_NOTE, 1)
    return body


def slide_standalone(slide: Slide) -> str:
    """A complete ``standalone`` document around :func:`slide_fragment`."""
    return document(
        "\\documentclass[border=10pt,varwidth=32cm]{standalone}\n"
        "\\usepackage{amsmath,amssymb,xcolor,colortbl}\n"
        "\\setcounter{MaxMatrixCols}{20}\n",
        slide_fragment(slide),
    )


PACK_FRAGMENTS = "fragments.tex"


def fragments_file(bodies: list[tuple[int, str]], n: int) -> str:
    r"""Every step's body of a pass in one file, each as ``\vcstep{k}{...}``.

    Pasted or ``\input`` as it is, it shows every step (``\vcstep`` prints its body);
    defining ``\newcommand{\vcstep}[2]{\ifnum#1=5 #2\fi}`` first shows step 5 only,
    which is what each ``step-NNN.tex`` of a pack does, so a body is stored once.
    """
    lines = [
        "% visualconv: every step of a pass; needs \\usepackage{amsmath,amssymb,xcolor,colortbl}",
        "% and \\setcounter{MaxMatrixCols}{20}. \\input{fragments.tex} shows every step;",
        "% \\newcommand{\\vcstep}[2]{\\ifnum#1=5 #2\\fi} before it shows step 5 only.",
    ]
    if any(needs_cjk(body) for _, body in bodies):
        lines.append(CJK_NOTE.rstrip("\n"))
    lines.append("\\providecommand{\\vcstep}[2]{#2}")
    for k, body in bodies:
        lines += [f"% ---- step {k} of {n}", f"\\vcstep{{{k}}}{{%", body.rstrip("\n"), "}"]
    return "\n".join(lines) + "\n"


def step_from_fragments(k: int, body: str = "") -> str:
    """A standalone document of step ``k`` that reads its body from the pass's fragments file.

    ``body`` is that step's body (:func:`slide_fragment`): with Chinese text in it the
    document loads the CJK package (:func:`document`).
    """
    preamble = (
        "\\documentclass[border=10pt,varwidth=32cm]{standalone}\n"
        "\\usepackage{amsmath,amssymb,xcolor,colortbl}\n"
        "\\setcounter{MaxMatrixCols}{20}\n"
        f"\\newcommand{{\\vcstep}}[2]{{\\ifnum#1={k}\\relax #2\\fi}}\n"
    )
    return document(preamble, f"\\input{{{PACK_FRAGMENTS}}}\n", cjk=needs_cjk(body))
