"""Compile LaTeX with pdflatex and read PDFs back (poppler), or skip saying what is missing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGES = ("beamer.cls", "tikz.sty", "adjustbox.sty", "colortbl.sty", "standalone.cls", "amssymb.sty")


def need_latex() -> None:
    """Skip (with the reason) unless pdflatex and the packages the exports use are installed."""
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-recommended texlive-pictures)")
    if shutil.which("kpsewhich") is not None:
        missing = [
            p
            for p in PACKAGES
            if subprocess.run(["kpsewhich", p], capture_output=True, text=True).stdout.strip() == ""
        ]
        if missing:
            pytest.skip(f"LaTeX packages missing: {', '.join(missing)} (apt-get install texlive-latex-extra)")


def need_cjk_latex() -> None:
    """Skip (with the reason) unless pdflatex can set Chinese: CJKutf8 and the gbsn font (Arphic)."""
    need_latex()
    for name in ("CJKutf8.sty", "c70gbsn.fd"):
        if subprocess.run(["kpsewhich", name], capture_output=True, text=True).stdout.strip() == "":
            pytest.skip(
                f"LaTeX's {name} is not installed (apt-get install texlive-lang-cjk latex-cjk-common "
                "latex-cjk-chinese-arphic-gbsn00lp)"
            )


def compile_tex(tex: Path) -> Path:
    """Run pdflatex on ``tex`` in its folder; fail on any LaTeX error. Returns the PDF."""
    need_latex()
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex.name],
        cwd=tex.parent,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=240,
    )
    log = tex.with_suffix(".log").read_text(errors="replace") if tex.with_suffix(".log").exists() else ""
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert run.returncode == 0 and not errors, (errors, run.stdout[-3000:])
    pdf = tex.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    return pdf


def pdf_pages(pdf: Path) -> int:
    """The number of pages (pdfinfo)."""
    if shutil.which("pdfinfo") is None:
        pytest.skip("pdfinfo is not installed (apt-get install poppler-utils)")
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    match = re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE)
    assert match is not None, out
    return int(match.group(1))


def pdf_text(pdf: Path, page: int) -> str:
    """The text of one page (pdftotext), with the maths minus as a hyphen."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    out = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.replace("\u2212", "-")
