"""Nobody outside the layer-kind modules decides by a layer's class or its type string."""

from __future__ import annotations

import re
from pathlib import Path

import visualconv

ROOT = Path(visualconv.__file__).resolve().parent
TYPES = r"(conv|conv_transpose|pool|dense|flatten)"
CLASSES = r"(ConvLayer|ConvTransposeLayer|PoolLayer|DenseLayer|FlattenLayer)"
TYPED = r"(\[\s*[\"']type[\"']\s*\]|\.type\b|layer_type|\bkind\b)"
PATTERNS = (
    re.compile(rf"isinstance\([^)]*{CLASSES}"),
    re.compile(rf"{TYPED}\s*(==|!=|\bin\b|\bnot in\b)\s*\(?[^)\n]*[\"']{TYPES}[\"']"),
    re.compile(rf"[\"']{TYPES}[\"']\s*(==|!=)\s*[^\n]*{TYPED}"),
)


def _offences() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if (ROOT / "engine" / "kinds") in path.parents:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(p.search(line) for p in PATTERNS):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_the_scan_finds_what_it_looks_for():
    lines = [
        'if layer["type"] == "conv":',
        "if kind in ('conv', 'dense'):",
        "if isinstance(layer, PoolLayer):",
        'if "flatten" == spec.type:',
    ]
    assert all(any(p.search(line) for p in PATTERNS) for line in lines)
    assert not any(p.search('if op == "flatten":') for p in PATTERNS)  # a PyTorch op, not a layer type


def test_no_module_outside_the_kinds_branches_on_a_layer_type():
    assert _offences() == []
