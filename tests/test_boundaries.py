"""The engine and the public API never import Qt."""

from __future__ import annotations

import re
import subprocess
import sys

from helpers import ROOT


def test_importing_visualconv_does_not_import_qt():
    code = (
        "import sys, visualconv, visualconv.engine.trace, visualconv.engine.explain, visualconv.cli;"
        "bad = [m for m in sys.modules if m.startswith(('PyQt6', 'pyqtgraph'))];"
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_no_engine_module_imports_qt():
    pattern = re.compile(r"^\s*(from|import)\s+(PyQt6|pyqtgraph|visualconv\.app)", re.M)
    offenders = [
        p.name for p in (ROOT / "visualconv" / "engine").rglob("*.py") if pattern.search(p.read_text())
    ]
    assert offenders == []
