"""The window's language: View ▸ Language, Qt's own translations, and re-reading texts on a switch.

The texts themselves come from :mod:`visualconv.i18n` (gettext). This module adds what
only the window needs:

- :func:`install_qt_translations` loads Qt's shipped ``qtbase_<code>.qm`` (PyQt6's
  ``Qt6/translations`` folder) with a :class:`QTranslator`, so Qt's standard dialogs
  (file dialogs, the Save / Discard / Cancel buttons of message boxes) speak the language
  too. Qt ships none for Indonesian: there they stay English.
- :func:`retranslate_tree` re-reads every text a widget tree shows that was set once
  (menu titles, actions, dock titles, labels, buttons, tooltips, tab and column headings):
  it looks each text's key up in the old language and translates that key in the new one.
  Texts made from numbers (the stepper's "overlay 3 of 8", the step text) are rebuilt by
  their owners, who listen to :attr:`LanguageMenu.sigLanguageChanged`.
- :class:`LanguageMenu` is View ▸ Language: one checkable entry per language, each in its
  own name; the choice is kept in the settings (``language``) for the next start.
- :func:`cjk_font_problem` says what to install when Chinese is chosen and the system has
  no font with Chinese glyphs.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QCoreApplication, QLibraryInfo, QObject, QSettings, QTranslator, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QAction, QActionGroup, QFont, QFontDatabase
from PyQt6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QDockWidget,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMenu,
    QTableWidget,
    QTabWidget,
    QTreeWidget,
    QWidget,
)

from .. import i18n
from ..i18n import N_, _

SETTING = "language"
CJK_PACKAGE = "fonts-noto-cjk"
CJK_HINT = N_(
    "No font with Chinese characters was found: install one (Debian/Ubuntu: sudo apt install "
    "fonts-noto-cjk or fonts-wqy-microhei; Fedora: google-noto-sans-cjk-fonts)"
)

_qt_translator: QTranslator | None = None


def install_qt_translations(code: str | None = None) -> bool:
    """Load Qt's own translation of ``code`` (the language in use by default); True when one was found."""
    global _qt_translator
    app = QCoreApplication.instance()
    if app is None:
        return False
    if _qt_translator is not None:
        QCoreApplication.removeTranslator(_qt_translator)
        _qt_translator = None
    code = code or i18n.language()
    if code == i18n.ENGLISH:
        return True
    translator = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if not translator.load(f"qtbase_{code}", folder):
        return False
    QCoreApplication.installTranslator(translator)
    _qt_translator = translator
    return True


def has_cjk_font() -> bool:
    """Whether the system offers a font that writes Simplified Chinese."""
    return bool(QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese))


# Fonts with Simplified Chinese glyphs, best first (Debian's fonts-noto-cjk, fonts-wqy-microhei, ...).
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
)


def use_language_font(code: str | None = None, windows: list[QObject] | None = None) -> str | None:
    """Make the item views of ``windows`` (the layer list, tables) write ``code``'s script well.

    Labels, buttons and menus draw Chinese through the system's font fallback, but an item
    view sizes its rows by its own font's lines, which the taller CJK glyphs overflow. For
    Chinese those views get a CJK family first; for any other language they get their own
    font back. Returns the family chosen (None: not Chinese, or no CJK font on the system).
    """
    choice = None
    if (code or i18n.language()) == "zh_CN":
        families = QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese)
        choice = next((f for f in CJK_FAMILIES if f in families), families[0] if families else None)
    for window in windows or ():
        if isinstance(window, QWidget):
            for view in window.findChildren(QAbstractItemView):
                _set_family(view, choice)
    return choice


def _set_family(widget: QWidget, choice: str | None) -> None:
    """Put the CJK family first in ``widget``'s font, or take it out again."""
    font = QFont(widget.font())
    families = [f for f in font.families() if f not in CJK_FAMILIES]
    if choice is not None:
        families = [choice, *families]
    if families != font.families():
        font.setFamilies(families)
        widget.setFont(font)


def cjk_font_problem(code: str | None = None) -> str:
    """What to install when ``code`` (the language in use) is Chinese and no font has its glyphs; else ""."""
    if (code or i18n.language()) != "zh_CN" or has_cjk_font():
        return ""
    return _(CJK_HINT)


# ----------------------------------------------------------------------------- re-reading texts

Setter = Callable[[str], None]


def _texts(widget: QObject) -> list[tuple[str, Setter]]:
    """The (text, setter) pairs a widget or action shows."""
    pairs: list[tuple[str, Setter]] = []
    if isinstance(widget, QAction):
        text = widget.text()
        pairs.append((text, widget.setText))
        tip = widget.toolTip()
        if tip and tip != text.replace("&", ""):  # Qt's automatic tooltip follows the text by itself
            pairs.append((tip, widget.setToolTip))
        pairs.append((widget.statusTip(), widget.setStatusTip))
        return pairs
    if not isinstance(widget, QWidget):
        return pairs
    pairs.append((widget.toolTip(), widget.setToolTip))
    pairs.append((widget.statusTip(), widget.setStatusTip))
    pairs.append((widget.whatsThis(), widget.setWhatsThis))
    if isinstance(widget, QMenu):
        pairs.append((widget.title(), widget.setTitle))
    elif isinstance(widget, QDockWidget) or widget.isWindow():
        pairs.append((widget.windowTitle(), widget.setWindowTitle))
    if isinstance(widget, (QLabel, QAbstractButton)):
        pairs.append((widget.text(), widget.setText))
    if isinstance(widget, QGroupBox):
        pairs.append((widget.title(), widget.setTitle))
    if isinstance(widget, QLineEdit):
        pairs.append((widget.placeholderText(), widget.setPlaceholderText))
    if isinstance(widget, QAbstractSpinBox):
        pairs.append((widget.specialValueText(), widget.setSpecialValueText))
        for getter, setter in (("prefix", "setPrefix"), ("suffix", "setSuffix")):
            if hasattr(widget, getter):
                pairs.append((getattr(widget, getter)(), getattr(widget, setter)))
    if isinstance(widget, QComboBox):
        for i in range(widget.count()):
            pairs.append((widget.itemText(i), _item_setter(widget.setItemText, i)))
    if isinstance(widget, QTabWidget):
        for i in range(widget.count()):
            pairs.append((widget.tabText(i), _item_setter(widget.setTabText, i)))
            pairs.append((widget.tabToolTip(i), _item_setter(widget.setTabToolTip, i)))
    if isinstance(widget, QTableWidget):
        for i in range(widget.columnCount()):
            item = widget.horizontalHeaderItem(i)
            if item is not None:
                pairs.append((item.text(), item.setText))
                pairs.append((item.toolTip(), item.setToolTip))
    if isinstance(widget, QTreeWidget):
        header = widget.headerItem()
        if header is not None:
            for i in range(header.columnCount()):
                pairs.append((header.text(i), _item_setter(header.setText, i)))
    return pairs


def _item_setter(setter: Callable[[int, str], None], index: int) -> Setter:
    def set_text(text: str) -> None:
        setter(index, text)

    return set_text


def collect(roots: list[QObject]) -> list[tuple[str, Setter]]:
    """Every (key, setter) of the texts under ``roots`` that has a key in the language in use."""
    found: list[tuple[str, Setter]] = []
    seen: set[int] = set()
    objects: list[QObject] = []
    for root in roots:
        objects.append(root)
        objects.extend(root.findChildren(QObject))
    for obj in objects:
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        for text, setter in _texts(obj):
            if not text:
                continue
            key = i18n.translate_back(text)
            if key is not None:
                found.append((key, setter))
    return found


def retranslate_tree(roots: list[QObject], code: str) -> None:
    """Switch to ``code`` and re-read every text under ``roots`` that was set from a catalogue."""
    keys = collect(roots)
    i18n.set_language(code)
    for key, setter in keys:
        setter(i18n.translate_key(key))


# ----------------------------------------------------------------------------- the menu


def remembered_language(settings: QSettings) -> str | None:
    """The language chosen last time in View ▸ Language (None when never chosen)."""
    value = settings.value(SETTING, "")
    code = i18n.normalize(str(value)) if value else None
    return code


class LanguageMenu(QObject):
    """View ▸ Language: the languages in their own names; switching re-reads the window's texts.

    Parameters
    ----------
    menu : QMenu
        The menu to put the entries in.
    roots : callable
        Returns the objects whose texts to re-read (the window, its floating docks ...).
    settings : QSettings
        Where the choice is kept.

    Signals
    -------
    sigLanguageChanged(str)
        The language switched (its catalogue code); owners of composed texts rebuild them.
    """

    sigLanguageChanged = pyqtSignal(str)

    def __init__(self, menu: QMenu, roots: Callable[[], list[QObject]], settings: QSettings) -> None:
        super().__init__(menu)
        self.menu = menu
        self._roots = roots
        self.settings = settings
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions: dict[str, QAction] = {}
        for code, name in i18n.LANGUAGES.items():
            action = QAction(name, menu)  # each language in its own name: never translated
            action.setCheckable(True)
            action.setData(code)
            action.setChecked(code == i18n.language())
            self.group.addAction(action)
            menu.addAction(action)
            self.actions[code] = action
        self.group.triggered.connect(self._on_group_triggered)

    @pyqtSlot(QAction)
    def _on_group_triggered(self, action: QAction) -> None:
        self.switch(str(action.data()))

    def switch(self, code: str) -> None:
        """Speak ``code`` from now on: re-read the texts, load Qt's translation, remember the choice."""
        code = i18n.normalize(code) or i18n.ENGLISH
        self.settings.setValue(SETTING, code)
        self.actions[code].setChecked(True)
        if code == i18n.language():
            return
        retranslate_tree(self._roots(), code)
        install_qt_translations(code)
        use_language_font(code, self._roots())
        self.sigLanguageChanged.emit(code)
