"""View ▸ Palette and View ▸ Theme; the link highlight is in the legend and never covers the digits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import ROOT
from PyQt6.QtCore import QRect, QSettings, Qt
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QMessageBox

from visualconv.app import theme
from visualconv.app.main_window import MainWindow
from visualconv.engine import palette

SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"


def end(window):
    """Close the window and delete it now, in order (never by a garbage collection later)."""
    from PyQt6 import sip

    from visualconv.app.main import dispose

    window.close()
    if not sip.isdeleted(window):
        dispose(window)


@pytest.mark.parametrize("key", ["cividis", "viridis", "grey"])
def test_the_sequential_palettes_read_in_greyscale(key):
    """Lightness rises with the value: in greyscale every step of the scale is a lighter grey."""
    lut = theme.index_lut(key)
    grey = [palette.luminance(tuple(int(c) for c in lut[i, :3])) for i in range(1, 256)]
    assert all(b >= a - 1e-3 for a, b in itertools.pairwise(grey))  # never darker (the table rounds)
    assert grey[-1] - grey[0] > 0.7  # from near black to near white


def test_a_palette_from_the_view_menu_colours_the_cells_and_the_numbers(window):
    assert window.open_file(SEED_2D)
    window.session.select(0, "backward", 16)
    window.actions_by_name["palette_cividis"].trigger()
    assert window.palette_key == "cividis"
    panel = window.layer_view.panels["dz"]
    lut = panel._image.lut
    np.testing.assert_array_equal(lut, theme.index_lut("cividis"))
    # dZ[3, 3] = -0.0681 is the most negative cell: the darkest blue of cividis, its number in white
    index = panel.tile_colours(0)[3, 3]
    assert palette.luminance(tuple(int(c) for c in lut[index, :3])) < 0.05
    assert theme.light_text("cividis")[index]
    assert not theme.light_text("cividis")[255]  # the lightest yellow has dark numbers
    window.actions_by_name["palette_rdbu"].trigger()
    np.testing.assert_array_equal(panel._image.lut, theme.index_lut("rdbu"))


def test_dark_and_high_contrast_themes(window):
    assert window.open_file(SEED_2D)
    window.actions_by_name["theme_dark"].trigger()
    panel = window.layer_view.panels["input"]
    assert panel.view.backgroundBrush().color() == QColor(theme.THEMES["dark"].panel_background)
    assert theme.THEMES["dark"].background in window.styleSheet()
    assert panel._numbers.colours[0] == QColor(theme.TEXT)  # numbers on the pale cells stay dark
    window.actions_by_name["theme_contrast"].trigger()
    assert panel._grid_item.pen().widthF() == pytest.approx(1.6)
    assert panel._outlines["window"].pen().color() == QColor("#000000")
    window.actions_by_name["theme_light"].trigger()
    assert panel.view.backgroundBrush().color() == QColor(theme.PANEL_BACKGROUND)


def test_view_palette_colours_the_editor_the_training_maps_and_the_window_exports(
    window, tmp_path, monkeypatch
):
    """Cividis chosen: the editor's table and the training maps use it, and so do File ▸ Export's
    files; with no palette chosen (and after going back to red–blue) an export is the command
    line's, byte for byte."""
    from PyQt6.QtWidgets import QFileDialog

    from visualconv import export
    from visualconv.modelfile import load_model

    model = load_model(SEED_2D)
    assert window.open_file(SEED_2D)
    window.session.select(0, "backward", 16)
    out = tmp_path / "step.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    command_line = export.snapshot_bytes(model, 0, "backward", 16, ".svg")

    window.exports.export_snapshot()
    assert out.read_bytes() == command_line  # no palette chosen: the exports' own red–blue
    window.actions_by_name["palette_cividis"].trigger()
    yellow = QColor(*palette.PALETTES["cividis"].colours[-1])  # the top of the scale: +level
    # the editor shows A_prev; its largest value 0.9 is its level, the palette's last colour
    grid = window.editors.editor.grid
    assert grid.name.startswith("input")
    r, c = np.unravel_index(np.argmax(grid.array[0]), grid.array[0].shape)
    assert grid.tables[0].item(r, c).background().color() == yellow
    assert window.show_dock("training")  # the maps are laid out when first shown
    assert window.training_panel.maps._maps  # a weight map and a gradient map for the conv layer
    for maps in window.training_panel.maps._maps:
        for target in maps:
            assert [int(v) for v in target.image.lut[255]] == list(palette.PALETTES["cividis"].colours[-1])
    window.exports.export_snapshot()
    chosen = out.read_bytes()
    assert chosen != command_line
    assert b"#00224e" in chosen and b"#fee838" in chosen  # the colour bar's ends are cividis'
    assert b"#2166ac" not in chosen and b"#2166ac" in command_line  # red-blue's blue end is gone
    assert b"dark &lt; 0 &lt; light" in chosen and b"blue &lt; 0 &lt; red" in command_line  # the legend
    window.actions_by_name["palette_rdbu"].trigger()
    window.exports.export_snapshot()
    assert out.read_bytes() == command_line


def _ink(icon, mode):
    """The colours of an icon's opaque pixels (it is drawn in one)."""
    image = icon.pixmap(16, 16, mode).toImage()
    inks = {
        image.pixelColor(x, y).name()
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).alpha() == 255
    }
    return inks


@pytest.mark.parametrize("key", ["dark", "contrast", "light"])
def test_the_step_buttons_icons_follow_the_theme(window, key):
    """Dark theme: light icons on the dark buttons (the style's media icons were dark, unseen)."""
    from PyQt6.QtGui import QIcon

    assert window.open_file(SEED_2D)
    window.session.select(0, "backward", 0)  # first and previous are disabled at step 0
    window.actions_by_name[f"theme_{key}"].trigger()
    chosen = theme.THEMES[key]
    bar = window.stepper
    for button in (bar.first_button, bar.previous_button, bar.play_button, bar.next_button, bar.last_button):
        mode = QIcon.Mode.Normal if button.isEnabled() else QIcon.Mode.Disabled
        inks = _ink(button.icon(), mode)
        expected = chosen.text if button.isEnabled() else chosen.disabled_text
        assert inks == {QColor(expected).name()}, (button.text(), inks)
    assert not bar.first_button.isEnabled() and bar.next_button.isEnabled()
    # the icon's ink stands out from the button: at least 4.5:1 where it can be used
    ink = palette.luminance(QColor(chosen.text).getRgb()[:3])
    ground = palette.luminance(QColor(chosen.panel_background).getRgb()[:3])
    assert (max(ink, ground) + 0.05) / (min(ink, ground) + 0.05) >= 4.5
    bar.play()
    assert _ink(bar.play_button.icon(), QIcon.Mode.Normal) == {QColor(chosen.text).name()}
    bar.pause()


def test_the_link_highlight_is_in_the_legend_and_an_outline_under_the_digits(window):
    assert window.open_file(SEED_2D)
    window.session.select(0, "backward", 8)
    legend = window.layer_view.legend.text()
    assert theme.LIGHT.link in legend and "linked cells" in legend
    window.editors.links.click("dw", (0, 0, 1))
    panel = window.layer_view.panels["input"]
    assert panel.links()  # the A_prev cells that fed dW[0, 1]
    assert panel._links_item.brush().style() == Qt.BrushStyle.NoBrush
    assert panel._links_item.zValue() < panel._numbers.zValue()


def test_palette_and_theme_are_remembered(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    settings = str(tmp_path / "settings.ini")
    first = MainWindow(settings=QSettings(settings, QSettings.Format.IniFormat))
    first.restore_layout(QRect(0, 0, 1600, 1000))
    first.set_palette("viridis")
    first.set_theme("contrast")
    end(first)
    second = MainWindow(settings=QSettings(settings, QSettings.Format.IniFormat))
    second.restore_layout(QRect(0, 0, 1600, 1000))
    assert second.palette_key == "viridis" and second.theme.key == "contrast"
    assert second.actions_by_name["palette_viridis"].isChecked()
    end(second)


def _luminances(widget, rect: QRect | None = None) -> np.ndarray:
    """The relative luminance of every pixel of ``widget`` as drawn (or of ``rect`` in it)."""
    image = widget.grab(rect or QRect()).toImage()
    return np.array(
        [
            [palette.luminance(image.pixelColor(x, y).getRgb()[:3]) for x in range(image.width())]
            for y in range(image.height())
        ]
    )


def test_the_dark_theme_draws_the_training_plots_and_maps_dark_and_the_controls_light(window, qtbot):
    """The Training dock's plots and weight maps take the theme's background (they stayed white);
    spin-box arrows and check-box frames are light on the dark fields (they were dark, unseen)."""
    panel = window.training_panel
    dark = theme.THEMES["dark"]
    assert window.open_file(ROOT / "sample_models" / "20-learning-a-kernel.json")  # the controls enabled
    window.actions_by_name["theme_dark"].trigger()
    assert window.show_dock("training")
    qtbot.waitUntil(
        lambda: panel.learning_rate.isVisible() and panel.learning_rate.width() > 60, timeout=60_000
    )
    for widget in (panel.loss_plot, panel.accuracy_plot, panel.maps):
        assert widget.backgroundBrush().color() == QColor(dark.panel_background)
    axis = panel.loss_plot.getPlotItem().getAxis("left")
    assert axis.textPen().color() == QColor(dark.text)
    ground = palette.luminance(QColor(dark.field_background).getRgb()[:3])
    spin = panel.learning_rate
    spin.ensurePolished()
    arrows = _luminances(spin, QRect(spin.width() - 18, 0, 18, spin.height()))
    assert (arrows > 0.5).sum() >= 10 and ground < 0.02  # the arrows in the theme's light text colour
    box = panel.log_scale
    box.setChecked(False)
    frame = _luminances(box, QRect(0, 0, 20, box.height()))
    assert (frame > 0.3).sum() >= 20  # the empty box's frame, in the muted colour
    window.actions_by_name["theme_light"].trigger()
    for widget in (panel.loss_plot, panel.accuracy_plot, panel.maps):
        assert widget.backgroundBrush().color() == QColor("#ffffff")
    assert "image:" not in window.styleSheet()  # the light theme leaves the style's own controls
