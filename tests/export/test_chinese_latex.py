"""Chinese in the LaTeX exports: set with the CJK package (CJKutf8, gbsn) only when the text has it.

The Chinese words are the Chinese seed's own (反向传播 backpropagation, 卷积 convolution: see
docs/glossary.md); the PDFs are compiled with pdflatex and read back with pdftotext.
"""

from __future__ import annotations

import pytest

from visualconv import i18n
from visualconv.export import latex
from visualconv.export.api import export_beamer, export_snapshot, export_tikz
from visualconv.export.pack import export_pack

from .latex_tools import compile_tex, need_cjk_latex, pdf_text

CJK_PACKAGE = "\\usepackage{CJKutf8}"


@pytest.fixture
def chinese():
    i18n.set_language("zh-CN")
    yield
    i18n.set_language("en")


def _words(text: str) -> str:
    """pdftotext's text without its spaces and line breaks (it spaces some Chinese glyphs apart)."""
    return "".join(text.split())


def test_chinese_text_stays_chinese_and_other_scripts_still_become_a_question_mark():
    assert latex.tex_text("反向传播（卷积），池化；上采样、") == "反向传播（卷积），池化；上采样、"
    assert latex.tex_text("Überlagerung ação") == "Überlagerung ação"
    assert latex.tex_text("한글 Ωμ") == "?? ??"  # Hangul and Greek: no font in pdflatex's text mode
    assert latex.needs_cjk(latex.tex_text("反向传播"))
    assert not latex.needs_cjk(latex.tex_text("Überlagerung — ≈ → ✓"))
    line = latex.math_line("覆盖 1: dW += [1*-0.1, 2*-0.1] -> [-0.1, -0.2]")
    assert line.startswith(r"\text{覆盖 1}{:}\quad dW \mathrel{+}= ")
    assert latex.math_line("2 次覆盖；dW、db 和 dA_prev 从零开始") == (
        r"2 \ \text{次覆盖；}dW \text{、}db \ \text{和}\ dA_{\mathrm{prev}} \ \text{从零开始}"
    )


def test_a_grid_too_large_to_print_says_so_in_the_language_in_use(chinese):
    assert latex._not_shown((3, 40)) == "（3\\,$\\times$\\,40 个值，未显示）"
    i18n.set_language("en")
    assert latex._not_shown((3, 40)) == "(3\\,$\\times$\\,40 values, not shown)"


def test_a_document_without_chinese_is_the_one_it_always_was():
    body = "\\noindent Überlagerung\n"
    assert latex.document("\\documentclass{article}\n", body) == (
        "\\documentclass{article}\n\\begin{document}\n" + body + "\\end{document}\n"
    )
    chinese = latex.document("\\documentclass{article}\n", "反向传播\n")
    assert chinese == (
        "\\documentclass{article}\n\\usepackage{CJKutf8}\n\\begin{document}\n"
        "\\begin{CJK}{UTF8}{gbsn}\n反向传播\n\\end{CJK}\n\\end{document}\n"
    )


def test_english_and_german_exports_load_no_cjk_package(seed1d, tmp_path):
    for code in ("en", "de"):
        i18n.set_language(code)
        try:
            export_snapshot(seed1d, 0, "backward", 2, tmp_path / f"{code}.tex")
            export_beamer(seed1d, 0, "backward", tmp_path / f"{code}-deck.tex")
        finally:
            i18n.set_language("en")
        for name in (f"{code}.tex", f"{code}-deck.tex", f"{code}-fragment.tex"):
            text = (tmp_path / name).read_text(encoding="utf-8")
            assert "CJK" not in text, name
            assert all(ord(ch) <= 0xFF for ch in text), name


def test_a_chinese_snapshot_and_deck_compile_and_show_their_chinese(seed1d, tmp_path, chinese):
    need_cjk_latex()
    export_snapshot(seed1d, 0, "backward", 2, tmp_path / "step.tex")
    export_beamer(seed1d, 0, "backward", tmp_path / "deck.tex", steps="2")
    for name in ("step.tex", "deck.tex"):
        tex = (tmp_path / name).read_text(encoding="utf-8")
        assert CJK_PACKAGE in tex and "\\begin{CJK}{UTF8}{gbsn}" in tex, name
        assert "?" not in tex.replace("\\?", ""), name  # no character lost
        text = _words(pdf_text(compile_tex(tmp_path / name), 1))
        assert "反向传播" in text and "卷积" in text, (name, text)
        assert "dW+=[2·0.2,3·0.2]→[0.3,0.4]" in text, (name, text)  # the seed's overlay 2 of dW
    fragment = (tmp_path / "step-fragment.tex").read_text(encoding="utf-8")
    assert "反向传播" in fragment and CJK_PACKAGE in fragment  # the note of what a host document needs


def test_a_chinese_pack_step_and_tikz_picture_compile(seed1d, tmp_path, chinese):
    need_cjk_latex()
    export_pack(seed1d, tmp_path / "pack", passes=["backward"], steps="1", formats=["tex"])
    (step,) = (tmp_path / "pack" / "layer-0-conv-backward").glob("step-*1.tex")
    assert CJK_PACKAGE in step.read_text(encoding="utf-8")
    assert "反向传播" in _words(pdf_text(compile_tex(step), 1))
    export_tikz(seed1d, 0, "backward", 2, tmp_path / "picture.tex")
    assert "卷积" in _words(pdf_text(compile_tex(tmp_path / "picture.tex"), 1))
