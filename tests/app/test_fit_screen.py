"""The window fits a 1024x768 projector and a 1280x720 screen with every dock open, Training included."""

from __future__ import annotations

import pytest
from helpers import ROOT
from PyQt6.QtCore import QPoint, QRect
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QAbstractScrollArea, QMessageBox, QWidget

from visualconv.app.main import fit_to_screen, parse_size

KERNEL = ROOT / "sample_models" / "20-learning-a-kernel.json"


@pytest.fixture
def joined(window, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    yield window
    window.close()


def _inside(widget: QWidget, window: QWidget) -> bool:
    """The whole widget is shown and lies within the window."""
    top_left = widget.mapTo(window, QPoint(0, 0))
    rect = QRect(top_left, widget.size())
    shown = widget.viewport() if isinstance(widget, QAbstractScrollArea) else widget  # a plot draws there
    return widget.isVisible() and not shown.visibleRegion().isEmpty() and window.rect().contains(rect)


@pytest.mark.parametrize("size", [(1024, 768), (1280, 720), (1600, 1000), (1920, 1080)])
def test_every_dock_open_fits_the_screen_and_shows_the_training_essentials(joined, qtbot, size):
    joined.open_file(KERNEL)
    for name in joined.dock_names():
        assert joined.show_dock(name)
    assert joined.show_dock("training")
    hint = joined.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 720, hint
    joined.resize(*size)
    qtbot.waitUntil(lambda: (joined.width(), joined.height()) == size, timeout=60_000)
    panel = joined.training_panel
    for widget in (joined.stepper, joined.equations, panel.loss_plot, panel.history):
        qtbot.waitUntil(lambda w=widget: _inside(w, joined), timeout=60_000)
    assert panel.loss_plot.height() >= 120 and panel.history.width() >= 100


SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"


def test_a_1024x768_projector_shows_the_whole_step_bar_the_layers_and_the_editor(joined, qtbot):
    """The first layout at 1024 x 768: nothing is wider than the screen, every control of the
    step bar is shown whole at its own size, and so are the Layers list and the editor's buttons."""
    joined.open_file(SEED_2D)
    joined.session.select(0, "backward", 5)
    joined.resize(1024, 768)
    qtbot.waitUntil(lambda: (joined.width(), joined.height()) == (1024, 768), timeout=60_000)
    hint = joined.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 768, hint
    bar = joined.stepper
    controls = [bar.first_button, bar.previous_button, bar.play_button, bar.next_button, bar.last_button]
    controls += [bar.speed, bar.slider, bar.counter]
    for widget in controls:
        qtbot.waitUntil(lambda w=widget: _inside(w, joined), timeout=60_000)
        assert widget.width() >= widget.minimumSizeHint().width(), widget
    assert (
        bar.counter.fontMetrics().horizontalAdvance(bar.counter.text()) <= bar.counter.contentsRect().width()
    )
    for dock in (joined.navigator_dock, joined.editors.docks["editor"]):  # the others are tabs behind it
        assert joined.rect().contains(QRect(dock.mapTo(joined, QPoint(0, 0)), dock.size())), dock.objectName()
    editor = joined.editors.editor
    for button in (*editor.tool_buttons.values(), editor.paste_button, editor.copy_button):
        qtbot.waitUntil(lambda b=button: _inside(b, joined), timeout=60_000)
        assert button.fontMetrics().horizontalAdvance(button.text()) < button.width(), button.text()


def test_show_dock_takes_the_names_of_the_command_line(joined):
    assert set(joined.dock_names()) >= {"layers", "editor", "gradient-check", "closed-form", "training"}
    assert joined.show_dock("Gradient check") and joined.show_dock("closed_form")
    assert not joined.show_dock("nothing")


def test_the_first_window_is_no_larger_than_the_screen():
    assert fit_to_screen((1400, 900), (1280, 720)) == (1280, 720)
    assert fit_to_screen((1400, 900), (1920, 1050)) == (1400, 900)
    assert fit_to_screen((1400, 900), None) == (1400, 900)
    assert parse_size("1280x720") == (1280, 720)
    with pytest.raises(ValueError, match="--window-size"):
        parse_size("big")


def test_screenshot_with_training_at_720p_is_exactly_that_size(tmp_path):
    from test_launch import run_cli

    out = tmp_path / "a.png"
    result = run_cli(str(KERNEL), "--screenshot", str(out), "--window-size", "1280x720", "--show", "training")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 720)


def test_an_unknown_dock_is_one_line_and_exit_2(tmp_path):
    from test_launch import run_cli

    result = run_cli(str(KERNEL), "--screenshot", str(tmp_path / "a.png"), "--show", "nothing")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--show nothing: expected one of" in result.stderr


@pytest.mark.parametrize(
    "options",
    [
        ("--window-size", "1920x1080", "--show", "training"),
        ("--window-size", "1600x1000", "--show", "training", "--show", "closed-form"),
        ("--window-size", "1280x720", "--presentation"),
        ("--window-size", "1280x720", "--zoom", "200", "--show", "gradient-check"),
    ],
    ids=["1080p-training", "1600-two-docks", "presentation", "zoom-200"],
)
def test_screenshot_options_render_exactly_the_requested_size(tmp_path, options):
    from test_launch import run_cli

    out = tmp_path / "a.png"
    result = run_cli(str(KERNEL), "--screenshot", str(out), *options)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    width, height = (int(v) for v in options[1].split("x"))
    image = QImage(str(out))
    assert (image.width(), image.height()) == (width, height)


@pytest.mark.parametrize("code", ["de", "pt-BR", "id", "zh-CN"])
def test_the_window_fits_a_1024x768_projector_in_every_language(qtbot, tmp_path, code):
    """German's longer words too: a right-hand dock scrolls rather than widen the window."""
    from PyQt6.QtCore import QSettings

    from visualconv import i18n
    from visualconv.app.main import dispose
    from visualconv.app.main_window import MainWindow

    i18n.set_language(code)
    window = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    try:
        window.stepper._fit_counter(99)  # as wide as a pass of 99 overlays ("overlay 88 of 88")
        window.resize(1024, 768)
        window.show()
        qtbot.waitExposed(window, timeout=60_000)
        hint = window.minimumSizeHint()
        assert hint.width() <= 1024 and hint.height() <= 768, (code, hint)
    finally:
        i18n.set_language("en")
        window.close()
        dispose(window)  # deleted now, in order (never by a garbage collection later)


@pytest.mark.parametrize("code", ["en", "de", "pt-BR", "id", "zh-CN"])
def test_at_1024_pixels_the_editor_needs_no_sideways_scrolling_in_any_language(qtbot, tmp_path, code):
    """The editor's two tabs fit its dock's width beside the window's area: its tools in three short
    rows, the layer's title without the hint (a wrapped line above it), the add-layer list narrow."""
    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QScrollArea

    from visualconv import i18n
    from visualconv.app.main import dispose
    from visualconv.app.main_window import MainWindow

    i18n.set_language(code)
    window = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    try:
        assert window.open_file(SEED_2D)
        window.resize(1024, 768)
        window.show()
        qtbot.waitExposed(window, timeout=60_000)
        editor = window.editors.editor
        scroll = window.findChild(QScrollArea, "editorScroll")
        assert scroll is not None and scroll.widget().isAncestorOf(editor)
        qtbot.waitUntil(lambda: editor.isVisible() and scroll.viewport().width() > 100, timeout=60_000)
        for tab in range(editor.tabs.count()):
            editor.tabs.setCurrentIndex(tab)
            needed = editor.minimumSizeHint().width()
            assert needed <= scroll.viewport().width(), (code, tab, needed, scroll.viewport().width())
        assert not scroll.horizontalScrollBar().isVisible()
    finally:
        i18n.set_language("en")
        window.close()
        dispose(window)
