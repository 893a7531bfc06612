"""Help in the window: the user guide, the guided tour and the list of keyboard shortcuts.

- :class:`UserGuide` shows ``docs/user-guide.md`` (shipped as ``visualconv/docs``) in a
  QTextBrowser, its screenshots resolved next to it.
- :class:`GuidedTour` walks a newcomer through the seed 1-D example step by step, driving
  the window as it goes; it can be skipped, and Help ▸ Guided tour shows it again. It is
  offered once, at the first start (remembered as ``help/tourSeen`` in QSettings), and
  never in tests, screenshots or CI unless asked (``--tour``).
- :func:`shortcut_rows` lists every action of a window that has a shortcut, read from the
  window's QActions themselves, so the list is complete by construction.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QSettings, Qt, QUrl
from PyQt6.QtGui import QAction, QKeySequence, QShortcut, QTextCursor, QTextDocument
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from .. import i18n
from ..i18n import N_, _
from ..samples import DEFAULT_SAMPLE, _data_dir, sample_dir

if TYPE_CHECKING:
    from .main_window import MainWindow

TOUR_SEEN = "help/tourSeen"
"""The QSettings key that remembers the tour was finished or skipped."""

GUIDE = "user-guide.md"
IMAGE_WIDTH = 820
"""Width of the guide's screenshots in the browser, in pixels (their height follows)."""


def guide_path(code: str | None = None) -> Path | None:
    """The user guide's Markdown file (package data, or the checkout's ``docs/``), or None.

    The guide of ``code`` (the language in use by default), ``user-guide.de.md``,
    ``user-guide.pt-BR.md`` ..., a translation of the English one; English when that
    language has none.
    """
    folder = _data_dir("docs")
    if folder is None:
        return None
    tag = i18n.tag(i18n.normalize(code) if code else None)
    translated = folder / GUIDE.replace(".md", f".{tag}.md")
    if tag != i18n.tag(i18n.ENGLISH) and translated.is_file():
        return translated
    path = folder / GUIDE
    return path if path.is_file() else None


# ----------------------------------------------------------------------------- shortcuts


def _plain(text: str) -> str:
    """A menu text without its mnemonic ampersands and trailing ellipsis."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def _menu_actions(window: QWidget) -> list[tuple[QAction, str]]:
    """Every action of the window's menus with its menu path (``View ▸ Numbers``), in menu order."""
    out: list[tuple[QAction, str]] = []
    bar = window.menuBar() if isinstance(window, QMainWindow) else None

    def walk(menu: QMenu, path: list[str]) -> None:
        for action in menu.actions():
            sub = action.menu()
            if sub is not None:
                walk(sub, [*path, _plain(sub.title())])
            elif not action.isSeparator():
                out.append((action, " ▸ ".join(path)))

    if bar is not None:
        for top in bar.actions():
            menu = top.menu()
            if menu is not None:
                walk(menu, [_plain(menu.title())])
    return out


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(keys, what they do) for every action and shortcut of ``window`` that has keys.

    Read from the window's QActions (in its menus, in menu order, then the window-wide
    ones) and QShortcuts: an action added with a shortcut anywhere in the window is listed
    without further work.
    """
    rows: list[tuple[str, str]] = []
    seen: set[int] = set()
    placed = _menu_actions(window)
    others = [(a, "") for a in window.findChildren(QAction) if not a.isSeparator() and a.menu() is None]
    for action, where in [*placed, *others]:
        if id(action) in seen:
            continue
        seen.add(id(action))
        keys = [
            k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()
        ]
        if not keys:
            continue
        name = _plain(action.text()) or _plain(action.toolTip())
        rows.append((", ".join(keys), f"{where} ▸ {name}" if where else name))
    for shortcut in window.findChildren(QShortcut):
        key = shortcut.key()
        if key.isEmpty():
            continue
        text = shortcut.whatsThis() or shortcut.objectName()
        rows.append((key.toString(QKeySequence.SequenceFormat.NativeText), text))
    return rows


class ShortcutList(QDialog):
    """Help ▸ Keyboard shortcuts: a table of :func:`shortcut_rows`."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle(_("Keyboard shortcuts"))
        self.rows = shortcut_rows(window)
        self.table = QTableWidget(len(self.rows), 2, self)
        self.table.setHorizontalHeaderLabels([_("Keys"), _("What they do")])
        for r, (keys, what) in enumerate(self.rows):
            self.table.setItem(r, 0, QTableWidgetItem(keys))
            self.table.setItem(r, 1, QTableWidgetItem(what))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        vertical = self.table.verticalHeader()
        if vertical is not None:
            vertical.setVisible(False)
        header = self.table.horizontalHeader()
        if header is not None:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
            header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, 520)


# ----------------------------------------------------------------------------- user guide


class UserGuide(QDialog):
    """Help ▸ User guide: docs/user-guide.md as rich text, with its screenshots."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("visualconv user guide"))
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(True)
        self.path = guide_path()
        if self.path is None:
            self.browser.setPlainText(
                _("The user guide was not found. It is docs/user-guide.md in the visualconv repository.")
            )
        else:
            self.browser.setSearchPaths([str(self.path.parent)])
            self.browser.setSource(
                QUrl.fromLocalFile(str(self.path)), QTextDocument.ResourceType.MarkdownResource
            )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(900, 720)
        self.fit_images(IMAGE_WIDTH)

    def fit_images(self, width: int) -> int:
        """Show every screenshot at most ``width`` pixels wide (they are made at 1400x900).

        Returns the number of images resized.
        """
        document = self.browser.document()
        assert document is not None
        cursor = QTextCursor(document)
        fitted = 0
        block = document.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                fmt = fragment.charFormat()
                if fragment.isValid() and fmt.isImageFormat():
                    image = fmt.toImageFormat()
                    cursor.setPosition(fragment.position())
                    cursor.setPosition(
                        fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor
                    )
                    image.setWidth(width)
                    cursor.setCharFormat(image)
                    fitted += 1
                it += 1
            block = block.next()
        return fitted


# ----------------------------------------------------------------------------- the tour


@dataclass(frozen=True, slots=True)
class TourStop:
    """One stop of the guided tour: where the window goes and what the text says.

    Attributes
    ----------
    title, text : str
    layer, pass_name, step : int, str, int
        What the window shows at this stop (of the seed 1-D example).
    """

    title: str
    text: str
    pass_name: str
    step: int
    layer: int = 0


TOUR: tuple[TourStop, ...] = (
    TourStop(
        N_("Welcome to visualconv"),
        N_(
            "This tour reads the numbers of the seed 1-D example off the window: "
            "the input A_prev = [1, 2, 3], "
            "the filter W = [0.3, 0.5] and the upstream deltas dZ = [-0.1, 0.2]. Each panel is one array; "
            "its colour is its value (blue below zero, red above). Press Next, or Skip to close the tour."
        ),
        "forward",
        0,
    ),
    TourStop(
        N_("Forward pass, overlay 1"),
        N_(
            "The Right arrow key steps to the next overlay: one position of the filter on the input. "
            "The outlined window A_prev[0:2] is multiplied by W: z[0] = 1*0.3 + 2*0.5 = 1.3. "
            "The step text below the panels writes this arithmetic out."
        ),
        "forward",
        1,
    ),
    TourStop(
        N_("Forward pass, overlay 2"),
        N_(
            "The filter slides one cell: z[1] = 2*0.3 + 3*0.5 = 2.1. Home and End jump to the first and "
            "the last step; Space plays the pass."
        ),
        "forward",
        2,
    ),
    TourStop(
        N_("Backward pass, step 0"),
        N_(
            "B switches to the backward pass (F back to the forward pass). The upstream deltas "
            "dZ = [-0.1, 0.2] are given; dW, db and dA_prev start at zero."
        ),
        "backward",
        0,
    ),
    TourStop(
        N_("Backward pass, overlay 1"),
        N_(
            "Overlay 1 adds A_prev[0:2] * dZ[0] to dW: [1*-0.1, 2*-0.1] = [-0.1, -0.2]; db becomes -0.1; "
            "and W * dZ[0] = [-0.03, -0.05] goes into dA_prev[0:2]. "
            "The cells it changed are outlined in orange."
        ),
        "backward",
        1,
    ),
    TourStop(
        N_("Backward pass, overlay 2"),
        N_(
            "Overlay 2 adds [2*0.2, 3*0.2] to dW, which becomes [0.3, 0.4]; db = 0.1 and "
            "dA_prev = [-0.03, 0.01, 0.1]. The step text ticks both against the closed forms."
        ),
        "backward",
        2,
    ),
    TourStop(
        N_("Hover, pin and more"),
        N_(
            "Hover a cell to see its exact value; "
            "hover a cell of dW or dA_prev to see the cells that fed it, "
            "and click to pin them (Escape clears a pin). The Editor dock changes any number; File ▸ Export "
            "writes the step as a picture, LaTeX or slides. Help ▸ User guide explains every panel, and "
            "Help ▸ Guided tour shows this tour again."
        ),
        "backward",
        2,
    ),
)


class GuidedTour(QDialog):
    """A walk through the seed 1-D example: Next / Back / Skip, the window following each stop.

    Signals are Qt's ``finished``; :attr:`index` is the stop shown.

    Parameters
    ----------
    window : MainWindow
        The window the tour drives (it opens the seed 1-D example first).
    settings : QSettings
        Where the tour is remembered as seen (when finished or skipped).
    """

    def __init__(self, window: MainWindow, settings: QSettings) -> None:
        super().__init__(window)
        self.window_ = window
        self.settings = settings
        self.index = 0
        self.setWindowTitle(_("Guided tour"))
        self.setModal(False)
        self.heading = QLabel("")
        self.heading.setObjectName("panelTitle")
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counter = QLabel("")
        self.counter.setObjectName("muted")
        self.skip_button = QPushButton(_("Skip tour"))
        self.back_button = QPushButton(_("Back"))
        self.next_button = QPushButton(_("Next"))
        self.next_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.counter)
        buttons.addStretch(1)
        for b in (self.skip_button, self.back_button, self.next_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)
        self.setMinimumWidth(460)
        self.skip_button.clicked.connect(self._on_skip_clicked)
        self.back_button.clicked.connect(self._on_back_clicked)
        self.next_button.clicked.connect(self._on_next_clicked)

    def start(self) -> bool:
        """Open the seed 1-D example (asking about unsaved changes) and show the first stop.

        Returns False when the seed could not be opened (the user kept their changes).
        """
        folder = sample_dir()
        if folder is None:
            return False
        seed = folder / DEFAULT_SAMPLE
        model = self.window_.session.model
        if (
            model is None
            or Path(self.window_.session.path or "").name != DEFAULT_SAMPLE
            or self.window_.session.dirty
        ):
            if not self.window_.open_file_keeping_changes(str(seed)):
                return False
        self.go(0)
        self.show()
        return True

    def go(self, index: int) -> None:
        """Show stop ``index`` and move the window there."""
        self.index = max(0, min(index, len(TOUR) - 1))
        stop = TOUR[self.index]
        self.heading.setText(_(stop.title))
        self.text.setText(_(stop.text))
        self.counter.setText(_("{k} of {n}").format(k=self.index + 1, n=len(TOUR)))
        self.back_button.setEnabled(self.index > 0)
        last = self.index == len(TOUR) - 1
        self.next_button.setText(_("Finish") if last else _("Next"))
        self.skip_button.setVisible(not last)
        self.window_.session.select(stop.layer, stop.pass_name, stop.step)

    def _remember(self) -> None:
        self.settings.setValue(TOUR_SEEN, True)
        self.settings.sync()

    def _on_next_clicked(self) -> None:
        if self.index == len(TOUR) - 1:
            self._remember()
            self.accept()
        else:
            self.go(self.index + 1)

    def _on_back_clicked(self) -> None:
        self.go(self.index - 1)

    def _on_skip_clicked(self) -> None:
        self._remember()
        self.reject()


def tour_wanted(
    settings: QSettings, asked: bool, environ: Callable[[str], str | None] = os.environ.get
) -> bool:
    """Whether to offer the tour at start-up: when asked, or at the first start outside CI and tests.

    ``VISUALCONV_NO_TOUR`` (set by the test suite) or ``CI`` in the environment keep it away
    unless asked.
    """
    if asked:
        return True
    if environ("VISUALCONV_NO_TOUR") or environ("CI"):
        return False
    value = settings.value(TOUR_SEEN, False)
    return not (value is True or str(value).lower() in ("true", "1"))
