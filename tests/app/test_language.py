"""View ▸ Language: the window switches language at run time, without reopening the model.

The German words are the seed document's own ("Überlagerung" for an overlay); the numbers
are the seed's ([0.3, 0.4] for dW after the second overlay). Menus are checked against the
German catalogue read on its own with Python's gettext.
"""

from __future__ import annotations

import gettext

import pytest
from helpers import ROOT
from PyQt6.QtCore import QSettings

from visualconv import i18n

SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
GERMAN = gettext.translation("visualconv", i18n.LOCALE_DIR, ["de"])


@pytest.fixture(autouse=True)
def _english_again():
    yield
    i18n.set_language("en")


def menu_titles(window):
    return [window.menus[key].title() for key in ("file", "edit", "step", "view", "help")]


def test_switching_language_changes_menus_and_step_text_without_reopening(window, qtbot):
    assert window.open_file(SEED_1D)
    window.session.select(0, "backward", 2)
    model = window.session.model
    english_menus = menu_titles(window)
    assert english_menus == ["&File", "&Edit", "&Step", "&View", "&Help"]
    assert window.equations.lines()[0] == "overlay 2: dW += [2*0.2, 3*0.2] -> [0.3, 0.4]"

    window.language_menu.actions["de"].trigger()

    assert window.session.model is model  # the same model object: nothing was reopened
    assert window.session.step == 2
    assert menu_titles(window) == [GERMAN.gettext(t) for t in english_menus]
    assert menu_titles(window)[0] == "&Datei"
    assert window.actions_by_name["save"].text() == GERMAN.gettext("&Save")
    assert window.equations.lines()[0] == "Überlagerung 2: dW += [2*0.2, 3*0.2] -> [0.3, 0.4]"
    assert window.stepper.counter.text() == "Überlagerung 2 von 2"
    assert window.training_dock.windowTitle() == GERMAN.gettext("Training")
    assert window.show_dock("training")  # --show names stay English in every language
    assert window.language_menu.actions["de"].isChecked()
    assert window.settings.value("language") == "de"

    window.set_language("en")
    assert menu_titles(window) == english_menus
    assert window.equations.lines()[0] == "overlay 2: dW += [2*0.2, 3*0.2] -> [0.3, 0.4]"
    assert window.stepper.counter.text() == "overlay 2 of 2"


def test_the_chosen_language_is_remembered_for_the_next_window(window, qtbot, tmp_path):
    window.set_language("zh-CN")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    from visualconv.app.language import remembered_language

    assert remembered_language(settings) == "zh_CN"
    assert window.menus["file"].title() == "文件(&F)"


def test_the_decimal_comma_is_a_setting_of_every_number_shown(window, qtbot):
    """View ▸ Decimal comma: the step text and the cells write 0,3 (lists with ';'), and back."""
    assert window.open_file(SEED_1D)
    window.session.select(0, "backward", 2)
    window.actions_by_name["decimal_comma"].setChecked(True)
    assert window.equations.lines()[0] == "overlay 2: dW += [2*0,2; 3*0,2] -> [0,3; 0,4]"
    assert window.layer_view.panels["dw"].numbers.decimal == ","
    assert window.layer_view.panels["dw"].colorbar.numbers.scale(0.4) == "0,4"
    assert window.settings.value("numbers/decimalComma", type=bool) is True
    window.actions_by_name["decimal_comma"].setChecked(False)
    assert window.equations.lines()[0] == "overlay 2: dW += [2*0.2, 3*0.2] -> [0.3, 0.4]"


def test_qt_standard_dialogs_follow_the_language_with_qts_own_translations(window, qtbot):
    """The Save / Discard / Cancel buttons come from Qt's qtbase_de.qm (shipped with PyQt6)."""
    from PyQt6.QtCore import QCoreApplication

    window.set_language("de")
    assert QCoreApplication.translate("QPlatformTheme", "Discard") == "Verwerfen"
    window.set_language("pt-BR")
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancelar"
    window.set_language("en")
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel"


def test_a_bad_model_file_is_refused_in_the_window_language(window, qtbot, tmp_path, monkeypatch):
    """The message box of a bad file says the catalogue's words; the place and the file stay as written."""
    from PyQt6.QtWidgets import QMessageBox

    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: shown.append((title, text)))
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "visualconv/1", "name": "x", "input": [1, 2], "layers": []}', encoding="utf-8")
    assert window.open_file(SEED_1D)
    window.set_language("de")
    assert not window.open_file(bad)
    words = GERMAN.gettext("expected {expected}, got {got}").format(
        expected=GERMAN.gettext("a non-empty list of layer objects"), got="[]"
    )
    assert shown == [(GERMAN.gettext("Cannot open the model"), f"{bad}: layers: {words}")]
    assert window.session.path == str(SEED_1D)  # the last valid model stays


def test_a_switch_rereads_legends_map_captions_and_the_view_menus_choices(window, qtbot):
    """What is drawn by pyqtgraph or written with numbers in it is re-read too, not only the widget tree."""
    assert window.open_file(ROOT / "sample_models" / "20-learning-a-kernel.json")
    panel = window.training_panel
    assert panel.maps.labels()[0][1].endswith("no gradient yet")
    window.set_language("de")
    legend = panel.loss_plot.getPlotItem().legend
    assert [legend.getLabel(c).text for c in (panel.iteration_curve, panel.epoch_curve)] == [
        GERMAN.gettext("batch loss"),
        GERMAN.gettext("epoch loss"),
    ]
    weight_caption, gradient_caption = panel.maps.labels()[0]
    assert weight_caption.endswith(GERMAN.gettext("before training"))
    assert gradient_caption.endswith(GERMAN.gettext("no gradient yet"))
    assert panel.dataset.itemText(0) == GERMAN.gettext("from the file: {dataset}").format(
        dataset=GERMAN.gettext("inline: {n} example(s)").format(n=1)
    )
    actions = window.actions_by_name
    assert actions["palette_grey"].text() == GERMAN.gettext("Grey (black < 0 < white)")
    assert actions["theme_contrast"].text() == GERMAN.gettext("&High contrast")
    assert actions["numbers_fix1"].text() == GERMAN.ngettext(
        "{d} fixed &decimal", "{d} fixed &decimals", 1
    ).format(d=1)
    assert actions["numbers_fix2"].text() == GERMAN.ngettext(
        "{d} fixed &decimal", "{d} fixed &decimals", 2
    ).format(d=2)
    editor = window.editors.editor
    assert editor.new_buttons[2].text() == GERMAN.gettext("New empty {dims}-D model").format(dims=2)
    assert GERMAN.gettext("A_prev (input)") in editor.chooser.itemText(0)
    window.set_language("en")
    assert actions["theme_contrast"].text() == "&High contrast"
    assert legend.getLabel(panel.iteration_curve).text == "batch loss"


@pytest.mark.parametrize("code", ["pt-BR", "de", "id"])
def test_a_layer_row_and_the_list_heading_fit_in_the_longer_languages(window, qtbot, code):
    """The row is as tall as its lines wrapped at the column's width: nothing is cut with an ellipsis."""
    from PyQt6.QtCore import QRect, Qt

    window.set_language(code)
    assert window.open_file(SEED_1D)
    tree = window.navigator.layers
    item = tree.topLevelItem(0)
    width = tree.columnWidth(1)
    wrapped = tree.fontMetrics().boundingRect(
        QRect(0, 0, width - 6, 10_000), Qt.TextFlag.TextWordWrap, item.text(1)
    )
    qtbot.waitUntil(lambda: tree.visualItemRect(item).height() >= wrapped.height(), timeout=5000)
    header = tree.header().fontMetrics()
    heading = tree.headerItem().text(1)
    assert heading == GERMAN.gettext("layer · settings · shape in → out") or code != "de"
    # no wider than the English heading the list was laid out for
    assert header.horizontalAdvance(heading) <= header.horizontalAdvance("layer · settings · shape in → out")
