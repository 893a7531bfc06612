"""``--palette NAME`` on the command line colours the exports and ``--screenshot`` as View > Palette does."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtGui import QImage

from visualconv.cli import main
from visualconv.engine.palette import PALETTES

ROOT = Path(__file__).resolve().parents[2]
SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"
# The grey palette runs from (24, 24, 24) at -level to (245, 245, 245) at +level: a zero cell is
# half way, 24 + 221 / 2 = 134.5 (134 or 135 after rounding). RdBu's middle class is #f7f7f7.
GREY_ZERO = {"#868686", "#878787"}


def _fills(svg: Path) -> list[str]:
    return re.findall(r'fill="(#[0-9a-f]{6})"', svg.read_text(encoding="utf-8"))


def _is_grey(colour: str) -> bool:
    return colour[1:3] == colour[3:5] == colour[5:7]


def test_export_palette_grey_colours_every_cell_grey_and_the_default_stays_red_blue(tmp_path, capsys):
    grey, default = tmp_path / "grey.svg", tmp_path / "default.svg"
    assert main(["export", str(SEED_2D), "--step", "4", "--out", str(grey), "--palette", "grey"]) == 0
    assert main(["export", str(SEED_2D), "--step", "4", "--out", str(default)]) == 0
    assert capsys.readouterr().err == ""
    grey_fills, default_fills = _fills(grey), _fills(default)
    assert all(_is_grey(c) for c in grey_fills)
    # dZ is zero in 12 of its 16 cells at this step, dA_prev in 21 of 25: the zero grey is there.
    assert sum(c in GREY_ZERO for c in grey_fills) >= 33
    assert "#f7f7f7" in default_fills and not all(_is_grey(c) for c in default_fills)


def test_an_unknown_palette_is_one_line_and_exit_2_naming_the_choices(tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["export", str(SEED_2D), "--out", str(out), "--palette", "purple"]) == 2
    names = ", ".join(PALETTES)
    assert capsys.readouterr().err == f"visualconv export: --palette purple: expected one of {names}\n"
    assert main([str(SEED_2D), "--screenshot", str(out), "--palette", "purple"]) == 2
    assert capsys.readouterr().err == f"visualconv: --palette purple: expected one of {names}\n"
    assert not out.exists()
    assert main(["--lang", "de", "export", str(SEED_2D), "--out", str(out), "--palette", "purple"]) == 2
    assert capsys.readouterr().err == f"visualconv export: --palette purple: erwartet eines von {names}\n"


@pytest.mark.parametrize("command", [["export", "--help"], ["--help"]])
def test_the_help_names_the_palettes(command, capsys):
    assert main(command) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--palette NAME" in text and "rdbu, cividis, viridis, grey" in text


def test_screenshot_with_palette_grey_has_no_red_or_blue_cells(qapp, tmp_path):
    out = tmp_path / "shot.png"
    args = [str(SEED_2D), "--screenshot", str(out), "--size", "1000x650", "--palette", "grey"]
    assert main([*args, "--pass", "backward", "--step", "5"]) == 0
    image = QImage(str(out)).convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    b, g, r = (pixels.reshape(image.height(), image.width(), 4)[:, :, i].astype(int) for i in range(3))
    # The seed's A_prev is all positive: in red-blue its cells are red (r > 150, g and b < 110).
    assert not ((r > 150) & (g < 110) & (b < 110)).any()
    assert ((abs(r - g) < 3) & (abs(g - b) < 3) & (r > 60) & (r < 200)).sum() > 2000  # grey cells
