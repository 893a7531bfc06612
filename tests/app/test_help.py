"""Help in the window: the user guide with its pictures, the guided tour, panel texts, shortcuts."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PyQt6.QtCore import QSettings, QUrl
from PyQt6.QtGui import QAction, QKeySequence, QTextDocument

from visualconv.app.help import (
    TOUR,
    TOUR_SEEN,
    ShortcutList,
    UserGuide,
    guide_path,
    shortcut_rows,
    tour_wanted,
)


def test_the_keyboard_shortcut_list_has_every_action_that_has_a_shortcut(window):
    rows = shortcut_rows(window)
    listed = [keys for keys, _ in rows]
    # independently: every QAction of the window with a shortcut
    expected = {
        ", ".join(
            k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts() if not k.isEmpty()
        )
        for a in window.findChildren(QAction)
        if any(not k.isEmpty() for k in a.shortcuts())
    }
    assert expected <= set(listed)
    by_keys = dict(rows)
    # the stepping keys, by hand
    # PageDown / PageUp beside Right / Left: what presenter clickers send
    assert by_keys["Right, PgDown"] == "Step ▸ Next overlay"
    assert by_keys["Left, PgUp"] == "Step ▸ Previous overlay"
    assert by_keys["Home"] == "Step ▸ First step"
    assert by_keys["End"] == "Step ▸ Last step"
    assert by_keys["Space"] == "Step ▸ Play / pause"
    assert by_keys["F"] == "Step ▸ Forward pass"
    assert by_keys["B"] == "Step ▸ Backward pass"
    assert by_keys[QKeySequence(QKeySequence.StandardKey.Open).toString()] == "File ▸ Open"
    assert by_keys["Esc"].endswith("Clear highlights")
    # a new action with a shortcut is listed without anything else
    extra = QAction("Something new", window)
    extra.setShortcut(QKeySequence("Ctrl+Alt+J"))
    window.addAction(extra)
    assert ("Ctrl+Alt+J", "Something new") in shortcut_rows(window)
    dialog = ShortcutList(window)
    assert dialog.table.rowCount() == len(shortcut_rows(window))
    dialog.deleteLater()


def test_the_user_guide_shows_with_its_screenshots(window):
    path = guide_path()
    assert path is not None and path.name == "user-guide.md"
    guide = UserGuide(window)
    text = guide.browser.toPlainText()
    assert "Reading the seed 1-D example" in text and "Hover and pin" in text
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", path.read_text(encoding="utf-8"))
    assert len(images) >= 5
    document = guide.browser.document()
    for name in images:
        assert (path.parent / name).is_file(), name
        image = document.resource(QTextDocument.ResourceType.ImageResource.value, QUrl(name))
        assert image is not None and not image.isNull(), name
    assert guide.fit_images(700) == len(images)  # every screenshot is scaled to the browser
    guide.deleteLater()


def test_every_panel_says_what_it_shows(window):
    from visualconv.samples import sample_dir

    assert window.open_file(sample_dir() / "01-seed-1d-conv.json")
    window.session.select(0, "backward", 1)
    assert window.layer_view.visible_panels()
    for role, panel in window.layer_view.visible_panels().items():
        text = panel.whatsThis()
        name = panel.title.text().split("  ")[0]
        assert text.startswith(name), role
        assert panel.title.toolTip() == text
    assert "gradient of the loss with respect to the weights" in window.layer_view.panels["dw"].whatsThis()


def test_the_guided_tour_drives_the_window_through_the_seed_numbers(window, tmp_path):
    settings = window.settings
    assert tour_wanted(settings, asked=False, environ=lambda key: None)  # a first start outside tests
    assert window.start_tour()
    tour = window.tour
    assert window.session.model.name == "Seed: 1-D convolution"
    seen = {}
    for index, stop in enumerate(TOUR):
        assert tour.index == index
        assert (window.session.pass_name, window.session.step) == (stop.pass_name, stop.step)
        seen[(stop.pass_name, stop.step)] = {
            role: np.array(p.values).ravel() for role, p in window.layer_view.visible_panels().items()
        }
        if index < len(TOUR) - 1:
            tour.next_button.click()
    # the numbers the tour's texts name, on the panels (by hand from the seed)
    assert "z[0] = 1*0.3 + 2*0.5 = 1.3" in TOUR[1].text
    np.testing.assert_allclose(seen[("forward", 1)]["z"][:1], [1.3], atol=1e-12)
    np.testing.assert_allclose(seen[("forward", 2)]["z"], [1.3, 2.1], atol=1e-12)
    np.testing.assert_allclose(seen[("backward", 1)]["dw"], [-0.1, -0.2], atol=1e-12)
    np.testing.assert_allclose(seen[("backward", 2)]["dw"], [0.3, 0.4], atol=1e-12)
    np.testing.assert_allclose(seen[("backward", 2)]["dx"], [-0.03, 0.01, 0.1], atol=1e-12)
    assert tour.next_button.text() == "Finish"
    tour.next_button.click()
    assert not tour.isVisible()
    assert not tour_wanted(settings, asked=False, environ=lambda key: None)  # seen: not at the next start
    assert tour_wanted(settings, asked=True)  # Help ▸ Guided tour / --tour still show it


def test_skipping_the_tour_remembers_it_and_tests_never_get_it(window, tmp_path):
    fresh = QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat)
    assert not tour_wanted(fresh, asked=False)  # VISUALCONV_NO_TOUR is set for the test suite
    assert not tour_wanted(fresh, asked=False, environ={"CI": "true"}.get)
    window.actions_by_name["tour"].trigger()
    window.tour.skip_button.click()
    assert not window.tour.isVisible()
    assert window.settings.value(TOUR_SEEN) in (True, "true")


@pytest.mark.parametrize("name", ["guide", "tour", "shortcuts"])
def test_the_help_menu_has_the_guide_the_tour_and_the_shortcuts(window, name):
    assert window.actions_by_name[name] in window.menus["help"].actions()


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("de", ("Überlagerung", "Rückwärtspass", "Filter (Kernel)")),  # docs/glossary.md's German terms
        ("pt-BR", ("sobreposição", "passe de backprop", "deltas de peso")),
        ("id", ("tumpangan", "lintasan mundur", "bobot")),
        ("zh-CN", ("覆盖", "反向传播", "卷积核")),
    ],
)
def test_help_user_guide_opens_the_guide_of_the_language_in_use(window, code, words):
    from visualconv import i18n

    english = guide_path("en")
    window.set_language(code)
    try:
        path = guide_path()
        assert path is not None and path.name == f"user-guide.{code}.md"
        text = path.read_text(encoding="utf-8")
        head = text.split("\n\n")[1]
        assert "docs/user-guide.md" in head and "2026" in head  # it says what it translates, of when
        assert all(word in text for word in words)
        ours = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
        assert ours == re.findall(r"!\[[^\]]*\]\(([^)]+)\)", english.read_text(encoding="utf-8"))
        guide = UserGuide(window)
        assert guide.path == path and words[1] in guide.browser.toPlainText()
        guide.deleteLater()
    finally:
        i18n.set_language("en")
    assert guide_path("id-ID") is not None and guide_path("id-ID").name == "user-guide.id.md"
    assert guide_path("en").name == "user-guide.md"
