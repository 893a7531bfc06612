"""Text from a model file is data: hostile names and descriptions in every export sink.

Models are built in code here (the loader refuses control characters in a file's name,
but a model made in a notebook, or a description, can still carry them).
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import visualconv as vc
from visualconv.export import api, export_pack
from visualconv.textsafe import code_fence, markdown_text, printable

ROOT = Path(__file__).resolve().parents[2]
SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"

HOSTILE_NAME = 'Evil \x1b[31mred\x07 <script>alert(1)</script> & "q" \\input{/etc/passwd} %$#_^~ \u202eabc'
HOSTILE_DESCRIPTION = (
    "A line.\n<img src=x onerror=alert(1)>\n[click](javascript:alert(1)) *bold* `code`\n"
    "# not a heading\n1. not a list\n```\n\x00\x1b]0;title\x07"
)


@pytest.fixture
def hostile():
    model = vc.load_model(SEED_1D)
    return dataclasses.replace(model, name=HOSTILE_NAME, description=HOSTILE_DESCRIPTION)


def test_printable_escapes_control_and_format_characters():
    assert printable("a\x1b[31mb\x07") == "a\\x1b[31mb\\x07"
    assert printable("x\u202ey\u200b") == "x\\u202ey\\u200b"
    assert printable("é ü 中 😀") == "é ü 中 😀"
    assert printable("a\nb\tc", keep_newlines=True) == "a\nb c"
    assert printable("a\nb") == "a\\x0ab"


def test_markdown_text_is_never_markup():
    assert markdown_text("<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert markdown_text("[a](b) *c* `d` a|b ~e~") == "\\[a\\]\\(b\\) \\*c\\* \\`d\\` a\\|b \\~e\\~"
    assert markdown_text("# h\n- l\n2. n", keep_newlines=True) == "\\# h  \n\\- l  \n2\\. n"
    assert code_fence(["a ``` b", "````"]) == "`````"


def test_svg_with_a_hostile_name_is_valid_xml_and_holds_the_text_as_text(hostile):
    svg = api.snapshot_bytes(hostile, 0, "backward", None, ".svg")
    root = ET.fromstring(svg)  # raises on invalid XML (a raw control character)
    tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
    assert "script" not in tags
    text = " ".join("".join(element.itertext()) for element in root.iter())
    assert "<script>alert(1)</script>" in text
    assert "\\x1b[31mred\\x07" in text and "\x1b" not in text


def test_png_and_pdf_with_a_hostile_name_render(hostile):
    assert api.snapshot_bytes(hostile, 0, "backward", None, ".png").startswith(b"\x89PNG")
    assert api.snapshot_bytes(hostile, 0, "backward", None, ".pdf").startswith(b"%PDF")


def test_latex_with_a_hostile_name_escapes_every_special_character(hostile):
    tex = api.snapshot_bytes(hostile, 0, "backward", None, ".tex").decode("utf-8")
    assert "\x1b" not in tex and "\x07" not in tex and "\u202e" not in tex
    assert "\\input{" not in tex
    assert "\\textbackslash{}input\\{/etc/passwd\\}" in tex
    assert "\\textless{}script\\textgreater{}" in tex
    assert "\\%\\$\\#\\_\\^{}\\~{}" in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_with_a_hostile_name_compiles_and_shows_the_name(hostile, tmp_path):
    (tex,) = [
        p for p in api.export_snapshot(hostile, 0, "backward", None, tmp_path / "h.tex") if p.stem == "h"
    ]
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    if shutil.which("pdftotext"):
        shown = subprocess.run(
            ["pdftotext", "h.pdf", "-"], cwd=tmp_path, capture_output=True, text=True
        ).stdout
        assert "<script>alert(1)</script>" in shown and "\\input{/etc/passwd}" in shown


def test_the_lecture_pack_index_md_and_html_carry_no_markup_from_the_model(hostile, tmp_path):
    index, page, *_ = export_pack(hostile, tmp_path / "pack")
    html = page.read_text("utf-8")
    for raw in ("<script>", "<img src=x", "\x1b", "\x00", "\x07", "\u202e"):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "\\x1b[31mred\\x07" in html
    text = index.read_text("utf-8")
    for raw in ("<script>", "<img", "[click](", "\x1b", "\x00", "\x07", "\u202e"):
        assert raw not in text, raw
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in text  # shown as written, not a link
    assert text.startswith("# Evil \\\\x1b\\[31mred\\\\x07 &lt;script&gt;alert\\(1\\)&lt;/script&gt; &amp;")
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in text
    assert "\\# not a heading" in text and "1\\. not a list" in text
    # The description's ``` cannot close a code block: only the pack's own fences start lines.
    lines = text.splitlines()
    assert not any(line.startswith("```") and line not in ("```text", "```") for line in lines)
    assert lines.count("```text") == lines.count("```")
