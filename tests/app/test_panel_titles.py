"""Panel titles in narrow columns: cut after a whole word with an ellipsis, the whole title in the tooltip."""

from __future__ import annotations

from helpers import ROOT
from PyQt6 import sip
from PyQt6.QtGui import QFontMetrics

from visualconv.app.widgets.elided import ELLIPSIS, ElidedLabel, elide_words
from visualconv.app.widgets.tensor_panel import TensorPanel

KERNEL = ROOT / "sample_models" / "20-learning-a-kernel.json"


def _shows_whole_words(shown: str, whole: str) -> bool:
    """The title, or its first words and an ellipsis (never a word cut without one)."""
    if shown == whole:
        return True
    head = shown.removesuffix(ELLIPSIS)
    return shown.endswith(ELLIPSIS) and whole.startswith(head) and whole[len(head)] in " ,;:("


def test_a_long_title_is_cut_after_a_word_and_whole_in_its_tooltip(qtbot):
    panel = TensorPanel("dz")  # deleted by Qt at the end, in order
    panel.configure("dZ  (upstream delta)", 1, (4, 4))
    panel.resize(90, 200)
    panel.show()
    qtbot.waitExposed(panel)
    title = panel.title
    metrics = QFontMetrics(title.font())
    assert metrics.horizontalAdvance("dZ  (upstream delta)") > title.contentsRect().width()  # it cannot fit
    assert title.text() == "dZ  (upstream delta)"  # the whole title stays the label's text
    assert _shows_whole_words(title.shown_text(), title.text()), title.shown_text()
    assert metrics.horizontalAdvance(title.shown_text()) <= title.contentsRect().width()
    assert title.toolTip() == "dZ  (upstream delta)"
    panel.resize(400, 200)
    qtbot.waitUntil(lambda: title.shown_text() == "dZ  (upstream delta)", timeout=60_000)
    assert title.toolTip() == ""
    panel.close()
    sip.transferto(panel, None)  # Qt deletes it from its event loop, in order
    panel.deleteLater()
    qtbot.waitUntil(lambda: sip.isdeleted(panel), timeout=60_000)


def test_elision_keeps_whole_words_and_cuts_a_first_word_with_an_ellipsis(qtbot):
    label = ElidedLabel("")  # never shown: only its font's measures are used
    metrics = QFontMetrics(label.font())
    text = "relative error per cell (white ≤ 1e-06; red: disagreement)"
    for width in range(metrics.horizontalAdvance("re…"), metrics.horizontalAdvance(text) + 20, 7):
        shown = elide_words(text, metrics, width)
        assert metrics.horizontalAdvance(shown) <= width, width
        assert _shows_whole_words(shown, text) or (shown.endswith(ELLIPSIS) and " " not in shown), shown
    assert elide_words(text, metrics, 10_000) == text
    assert elide_words("relative", metrics, metrics.horizontalAdvance("rel…")).endswith(ELLIPSIS)


def test_every_title_of_a_1024_wide_window_is_whole_or_cut_after_a_word(window, qtbot):
    """The four columns of the learning-a-kernel example at 1024 x 768 (dZ's title was cut mid-word)."""
    assert window.open_file(KERNEL)
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: window.width() == 1024, timeout=60_000)
    panels = [p for p in window.layer_view.panels.values() if p.isVisible()]
    assert len(panels) >= 6
    cut = 0
    for panel in panels:
        for label in (panel.title, panel.subtitle):
            shown, whole = label.shown_text(), label.text()
            assert _shows_whole_words(shown, whole), (whole, shown)
            assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width(), shown
            if shown != whole:  # the whole title first, then what the panel shows (the help's words)
                assert label.toolTip().startswith(whole), label.toolTip()
            cut += shown != whole
    assert cut >= 1  # dZ (upstream delta) does not fit its column here
