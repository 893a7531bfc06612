"""The debugger window: menus, the layer list, heat maps, stepper and equations."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PyQt6 import sip
from PyQt6.QtCore import (
    QByteArray,
    QEvent,
    QObject,
    QRect,
    QSettings,
    QSignalBlocker,
    Qt,
    QTimer,
    pyqtSignal,
    pyqtSlot,
)
from PyQt6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeyEvent, QKeySequence, QResizeEvent
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QScrollArea,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..engine import palette
from ..engine.errors import ModelError, said
from ..engine.model import Model
from ..engine.numbers import DEFAULT, NumberFormat
from ..i18n import N_, _, ngettext
from ..samples import resource_dir, sample_dir, samples, shown
from ..textsafe import printable
from . import theme
from .autosave import Autosave
from .editors import Editors
from .excepthook import ExceptionHook
from .export_dialogs import ExportSettings
from .exports import MENU as EXPORT_MENU
from .exports import Exports
from .help import GuidedTour, ShortcutList, UserGuide
from .language import LanguageMenu, cjk_font_problem
from .main import DEFAULT_SIZE, fit_to_screen
from .session import Session
from .training import TrainingPanel
from .training.link import TrainingLink
from .widgets.equations import PRESENTATION_SIZES, EquationPanel
from .widgets.layer_view import LayerView
from .widgets.navigator import Navigator
from .widgets.stepper import Stepper
from .widgets.zoom import ZoomArea

MAX_RECENT = 8
DECIMAL_COMMA = "numbers/decimalComma"
LAYOUT_VERSION = 1  # of the saved dock layout (QMainWindow.saveState); a new one ignores older layouts
FILE_FILTER = N_("visualconv models (*.json);;All files (*)")
# View ▸ Numbers: (key kept in the settings, menu text, the format)
NUMBER_CHOICES: tuple[tuple[str, str, NumberFormat], ...] = (
    ("auto", N_("&Automatic (6 significant digits in text, 4 in cells)"), DEFAULT),
    *((f"sig{d}", N_("&{d} significant digits"), DEFAULT.significant_digits(d)) for d in range(2, 7)),
    *((f"fix{d}", N_("{d} fixed &decimals"), DEFAULT.fixed_decimals(d)) for d in range(1, 5)),
)
IMPORT_FILTER = N_("Networks (*.onnx *.pt2);;ONNX (*.onnx);;torch.export archives (*.pt2);;All files (*)")


def configure_pyqtgraph() -> None:
    """Global pyqtgraph options of the window (row-major images, light theme)."""
    pg.setConfigOptions(
        imageAxisOrder="row-major", background=theme.PANEL_BACKGROUND, foreground=theme.TEXT, antialias=False
    )


STEP_KEYS = (
    Qt.Key.Key_Left,
    Qt.Key.Key_Right,
    Qt.Key.Key_Home,
    Qt.Key.Key_End,
    Qt.Key.Key_Space,
    Qt.Key.Key_F,  # forward pass
    Qt.Key.Key_B,  # backward pass
    Qt.Key.Key_Escape,  # clears highlights; in a field it leaves the field
    Qt.Key.Key_PageDown,  # presenter clickers: next / previous
    Qt.Key.Key_PageUp,
)
# Keys that end typing in a field or cell: once the field has them, the stepping keys go back to the window.
DONE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)


class _KeyGuard(QObject):
    """Lets text fields, spin boxes and tables keep the stepper's keys while they have focus.

    The stepper's shortcuts (Left/Right/Home/End/Space) work window-wide, except where
    those keys already mean something: typing in a field or moving in an editor's table.
    The layer list is not such a place (Left/Right still step there).
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        kind = None if event is None else event.type()  # once: it sees every event of the application
        if kind == QEvent.Type.ShortcutOverride:
            assert isinstance(event, QKeyEvent)
            if event.key() in STEP_KEYS and self._wants_keys(QApplication.focusWidget()):
                event.accept()  # the focused widget gets the key; the shortcut does not fire
        elif kind == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            focused = QApplication.focusWidget()
            if watched is focused and event.key() in DONE_KEYS and self._ends_typing(focused):
                # Enter committed (or Escape dropped) the text: after the field has handled the key,
                # the focus goes back to the heat maps so Left/Right step again.
                QTimer.singleShot(0, self._hand_back)
        return False

    def _ends_typing(self, widget: QWidget | None) -> bool:
        """A one-line field or spin box of this window (a table's cell editor hands back on closing)."""
        if widget is None or widget.window() is not self.window or not self._wants_keys(widget):
            return False
        if isinstance(widget.parent(), QWidget) and isinstance(widget.parent().parent(), QAbstractItemView):
            return False  # a cell editor in a table's viewport
        return isinstance(widget, (QLineEdit, QAbstractSpinBox))

    @pyqtSlot()
    def _hand_back(self) -> None:
        hand_back = getattr(self.window, "hand_back_keys", None)
        if hand_back is not None:
            hand_back()

    def _wants_keys(self, widget: QWidget | None) -> bool:
        if widget is None or widget.window() is not self.window:
            return False
        if isinstance(widget, (QPlainTextEdit, QTextEdit)):
            return not widget.isReadOnly()
        if isinstance(widget, QAbstractItemView):
            return widget.objectName() != "layerList"
        return isinstance(widget, (QLineEdit, QAbstractSpinBox, QComboBox))


class _SplitterSizer(QObject):
    """Calls ``fit`` after the splitter it watches has been resized (its new sizes are known then)."""

    def __init__(self, fit: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._fit = fit

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self._fit)
        return False


STEP_TEXT_PIXELS = 285
"""The step text's height in a window of the default size: the seeds' last steps fit whole."""


def _number_label(key: str, text: str) -> str:
    """The View ▸ Numbers entry of a choice of NUMBER_CHOICES, in the language in use."""
    if key.startswith("fix"):
        d = int(key[3:])
        return ngettext("{d} fixed &decimal", "{d} fixed &decimals", d).format(d=d)
    return _(text).format(d=key[3:])


def scrolled(widget: QWidget, name: str) -> QScrollArea:
    """``widget`` in a frameless scroll area that gives it the area's width (a dock's content)."""
    scroll = QScrollArea()
    scroll.setObjectName(name)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(widget)
    return scroll


class MainWindow(QMainWindow):
    """The visualconv window over a :class:`Session`, with everything it offers.

    Everything is built here, in :meth:`__init__`, in one place: the heat maps, stepper
    and equations; the panels and services (layer list, editors, training, exports,
    autosave, the exception hook); their docks; the menus; and the signal wiring, all
    to bound slots. Nothing is added from outside, so a ``MainWindow()`` in a test is
    the whole window.

    Parameters
    ----------
    session : Session, optional
        The state to show (a new one by default).
    settings : QSettings, optional
        Where recent files are kept (default: the user's visualconv settings).

    Attributes
    ----------
    editors : Editors
        Editor, gradient check, closed form, undo history, linked highlighting.
    training_panel, training_dock, training_link
        The Training panel, its dock (hidden until View ▸ Training) and what joins it
        to the session.
    exports : Exports
        File ▸ Export (``export_settings``: its options and last folders).
    autosave : Autosave
        Unsaved models go to the recovery file (:func:`~visualconv.app.autosave.start_autosave`
        offers a recovered one at start-up).
    exception_hook : ExceptionHook
        Installed by the launcher (:func:`~visualconv.app.main.run_app`) for the process.
    menus, actions_by_name
        The menus (``file``, ``edit``, ``step``, ``view``, ``help``) and every named action.

    Signals
    -------
    sigClosed()
        The window closed: the user saved or discarded unsaved changes (not on Cancel).
    """

    sigClosed = pyqtSignal()

    def __init__(
        self, session: Session | None = None, settings: QSettings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        from .main import dispose_at_exit

        dispose_at_exit()  # a window left open by a script is disposed of before PyQt's exit clean-up
        configure_pyqtgraph()
        self.session = session or Session(self)
        self.settings = settings or QSettings("visualconv", "visualconv", self)
        self.tour: GuidedTour | None = None  # Help ▸ Guided tour, made when first asked
        self.setObjectName("mainWindow")
        self.setStyleSheet(theme.STYLE_SHEET)
        self.setWindowTitle("visualconv")
        icon = resource_dir()
        if icon is not None and (icon / "icon.svg").is_file():
            self.setWindowIcon(QIcon(str(icon / "icon.svg")))
        status = self.statusBar()
        assert status is not None

        # -- the central area: heat maps, stepper, equations
        central = QWidget(self)
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        self.layer_view = LayerView(self.session, central)
        self.zoom_area = ZoomArea(self.layer_view, central)  # Ctrl+wheel, View ▸ Zoom in / out
        self.stepper = Stepper(self.session, central)
        self.equations = EquationPanel(self.session, central)
        self.splitter = QSplitter(Qt.Orientation.Vertical, central)
        top = QWidget(self.splitter)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(2)
        top_layout.addWidget(self.zoom_area, 1)
        top_layout.addWidget(self.stepper)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.equations)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([720, 170])
        # Until the user drags the splitter (or a saved layout sets it), a window of the default
        # height and taller gives the step text room for the seeds' last steps with every closed form.
        self._splitter_chosen = False
        self.presenting = False  # presentation mode (F5): the splitter is set for it
        self.splitter.splitterMoved.connect(self._on_splitter_moved)
        self._splitter_sizer = _SplitterSizer(self.fit_step_text, self)
        self.splitter.installEventFilter(self._splitter_sizer)
        self.splitter.setChildrenCollapsible(False)
        layout.addWidget(self.splitter)
        self.setCentralWidget(central)

        # -- panels and services
        self.navigator = Navigator(self.session)
        self.editors = Editors(self.session, self.layer_view, status, self)
        self.training_panel = TrainingPanel()
        self.training_link = TrainingLink(
            self.session,
            self.training_panel,
            self.equations,
            self,
            history=self.editors.history,
            status=status,
        )
        self.export_settings = ExportSettings(self.settings)
        self.exports = Exports(self.session, self, self.export_settings)
        self.autosave = Autosave(self.session, self)
        self.exception_hook = ExceptionHook(self.dialog_parent)

        # -- menus, then the docks (each dock adds its toggle to the View menu)
        self.menus: dict[str, QMenu] = {}
        self.actions_by_name: dict[str, QAction] = {}
        # What the View menu's choices set, before the menu restores them (a remembered decimal comma).
        self.palette_key = "rdbu"  # View ▸ Palette
        self.theme = theme.LIGHT  # View ▸ Theme
        self.numbers: NumberFormat = DEFAULT  # View ▸ Numbers: cells, tooltips, status, step text, exports
        self._build_menus()
        self.setDockOptions(  # before any dock is added
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
        )
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.navigator_dock = self.add_dock(
            self.navigator, N_("Layers"), Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.navigator_dock.setMinimumWidth(190)
        # Every right-hand dock in a scroll area, so that none forces the window wider than a
        # 1024 x 768 projector (in any language) or taller than a 720-pixel screen.
        docks = {
            "editor": self.add_dock(scrolled(self.editors.editor, "editorScroll"), N_("Editor"), right),
            "gradcheck": self.add_dock(
                scrolled(self.editors.gradcheck, "gradcheckScroll"), N_("Gradient check"), right
            ),
            "closed_form": self.add_dock(
                scrolled(self.editors.closed_form, "closedFormScroll"), N_("Closed form"), right
            ),
        }
        docks["editor"].setMinimumWidth(300)
        self.editors.set_docks(docks)
        self._add("view", "clear_highlights", self.editors.actions["clear_highlights"])
        scroll = scrolled(self.training_panel, "trainingScroll")
        self.training_dock = self.add_dock(scroll, N_("Training"), right)
        self.arrange_docks()
        self._build_view_menu()

        # -- wiring
        app = QApplication.instance()
        if app is not None:
            self._key_guard: _KeyGuard | None = _KeyGuard(self)
            app.installEventFilter(self._key_guard)
        self.session.sigModelChanged.connect(self._on_session_model_changed)
        self.session.sigPathChanged.connect(self._on_session_path_changed)
        self.session.sigDirtyChanged.connect(self._on_session_dirty_changed)
        self.session.sigStepChanged.connect(self._on_session_step_changed)
        self.editors.editor.grid.sigEditingDone.connect(self.hand_back_keys)
        self.zoom_area.sigZoomChanged.connect(self._on_zoom_changed)
        self.layer_view.sigZoomRequested.connect(self.zoom_area.zoom_step)
        self.editors.actions["clear_highlights"].triggered.connect(self._on_escape_triggered)
        self.autosave.watch_close(self)

        self._default_splitter = self.splitter.saveState()  # what View ▸ Reset layout goes back to
        self.remembers_layout = False  # set by restore_layout(): the user's window saves its layout on close
        self._before_presentation: tuple[QByteArray, QByteArray, Qt.WindowState] | None = None

    def dialog_parent(self) -> QWidget | None:
        """The parent of the exception hook's dialog: this window while it lives."""
        return None if sip.isdeleted(self) else self

    # ------------------------------------------------------------ docks and menus

    def add_dock(
        self, widget: QWidget, title: str, area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
    ) -> QDockWidget:
        """Add a dockable panel and its toggle to the View menu.

        ``title`` is the English title (marked with ``N_``): the dock shows its translation,
        and its object name (``dock-Training``: the saved layout, ``--show``) keeps the English.
        """
        dock = QDockWidget(_(title), self)
        dock.setObjectName(f"dock-{title}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        self.menus["view"].addAction(dock.toggleViewAction())
        return dock

    # ------------------------------------------------------------ layout

    def arrange_docks(self) -> None:
        """The docks as on a first start (and after View ▸ Reset layout).

        Layers on the left; editor, gradient check, closed form and training (hidden until
        View ▸ Training) as tabs on the right. Tabified while all are shown: a tab group
        made with a hidden dock in it does not bring that dock's tab forward later.
        """
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        docks = self.editors.docks
        tabs = [docks["editor"], docks["gradcheck"], docks["closed_form"], self.training_dock]
        for dock, area in ((self.navigator_dock, left), *((dock, right) for dock in tabs)):
            if dock.isFloating() or self.dockWidgetArea(dock) != area:
                dock.setFloating(False)
                self.addDockWidget(area, dock)
        for dock in (self.navigator_dock, *tabs):
            dock.show()
        # Tabs beside each other (not stacked): the right column stays one dock tall.
        for first, second in itertools.pairwise(tabs):
            self.tabifyDockWidget(first, second)
        docks["editor"].raise_()
        self.resizeDocks([self.navigator_dock], [270], Qt.Orientation.Horizontal)
        self.resizeDocks([docks["editor"]], [370], Qt.Orientation.Horizontal)
        self.training_dock.hide()  # opened from View ▸ Training, so the heat maps keep the room

    def restore_layout(self, available: QRect | None = None) -> bool:
        """Restore the size, place and dock layout of the last session, if they fit the screen now.

        From now on the layout is saved when the window closes. Returns True when the
        saved geometry was used; otherwise the window has the default size, fitted to the
        screen (the dock layout is restored either way).

        Parameters
        ----------
        available : QRect, optional
            The screen area the window must fit in (default: the available area of its screen).
        """
        self.remembers_layout = True
        state = self.settings.value("layout/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state, LAYOUT_VERSION)
        self.set_number_format(str(self.settings.value("view/numbers", "auto")))
        self.set_palette(str(self.settings.value("view/palette", "rdbu")))
        self.set_theme(str(self.settings.value("view/theme", "light")))
        zoom = self.settings.value("view/zoom", 100)
        self.zoom_area.set_zoom(int(zoom) if str(zoom).isdigit() else 100)
        splitter = self.settings.value("layout/splitter")
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)
            self._splitter_chosen = True
        available = available or self.available_geometry()
        rect = self.settings.value("layout/rect")
        if isinstance(rect, QRect) and rect.isValid():
            # Qt's restoreGeometry moves a window into whatever screen there is; the window is only
            # put back where it was when all of it fits the screen as it is now.
            if available is None or available.contains(rect):
                self.setGeometry(rect)
                if self.settings.value("layout/maximized", False, type=bool):
                    self.setWindowState(Qt.WindowState.WindowMaximized)
                return True
        self.setWindowState(Qt.WindowState.WindowNoState)
        self.fit_default_size(available)
        return False

    def save_layout(self) -> None:
        """Remember the size, place and dock layout for the next start."""
        rect = self.normalGeometry() if self.isMaximized() else self.geometry()
        self.settings.setValue("layout/rect", rect)
        self.settings.setValue("layout/maximized", self.isMaximized())
        self.settings.setValue("layout/state", self.saveState(LAYOUT_VERSION))
        self.settings.setValue("view/zoom", self.zoom_area.percent)
        self.settings.setValue("view/numbers", self.number_format_key())
        self.settings.setValue("view/palette", self.palette_key)
        self.settings.setValue("view/theme", self.theme.key)
        self.settings.setValue("layout/splitter", self.splitter.saveState())

    def available_geometry(self) -> QRect | None:
        """The available area (without task bars) of the window's screen, if Qt knows one."""
        screen = self.screen() or QApplication.primaryScreen()
        return None if screen is None else screen.availableGeometry()

    def fit_default_size(self, available: QRect | None = None) -> None:
        """The first window's size: ``DEFAULT_SIZE`` shrunk to the screen (``available``), at its top left."""
        available = available or self.available_geometry()
        if available is not None and available.width() > 0 and available.height() > 0:
            self.move(available.topLeft())
            self.resize(*fit_to_screen(DEFAULT_SIZE, (available.width(), available.height())))
        else:
            self.resize(*DEFAULT_SIZE)

    @pyqtSlot()
    def reset_layout(self) -> None:
        """View ▸ Reset layout: the docks, the splitter and the size as on a first start."""
        self.arrange_docks()
        self.splitter.restoreState(self._default_splitter)
        self._splitter_chosen = False
        if not self.isFullScreen():
            self.setWindowState(Qt.WindowState.WindowNoState)
            self.fit_default_size()
        for key in ("layout/rect", "layout/maximized", "layout/state", "layout/splitter"):
            self.settings.remove(key)

    def fit_step_text(self) -> None:
        """The step text's height for the window's: room for about 12 lines from the default height up.

        Lower windows keep the panels' share (the text scrolls); once the user has moved the
        splitter, or a saved layout has set it, it stays as chosen.
        """
        if self._splitter_chosen or self.presenting or not self.isVisible() or sip.isdeleted(self.splitter):
            return  # a window being built, closed, presenting or chosen by the user is left alone
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if len(sizes) != 2 or total <= 0:
            return
        text = STEP_TEXT_PIXELS if self.height() >= DEFAULT_SIZE[1] - 20 else round(total * 170 / 890)
        text = min(text, total // 2)
        if sizes[1] != text:
            self.splitter.setSizes([total - text, text])

    @pyqtSlot(int, int)
    def _on_splitter_moved(self, pos: int, index: int) -> None:
        self._splitter_chosen = True

    # ------------------------------------------------------------ colours

    def _choice_menu(self, title: str, name: str, choices: list[tuple[str, str]], checked: str) -> QMenu:
        """A View submenu of exclusive choices; each action is ``actions_by_name[f"{name}_{key}"]``."""
        menu = self.menus["view"].addMenu(title)
        assert menu is not None
        group = QActionGroup(self)
        for key, text in choices:
            choice = menu.addAction(text)
            assert choice is not None
            choice.setCheckable(True)
            choice.setData(key)
            choice.setChecked(key == checked)
            group.addAction(choice)
            self.actions_by_name[f"{name}_{key}"] = choice
        return menu

    def set_palette(self, key: str) -> None:
        """View ▸ Palette: the heat maps' colours (an unknown key is the red–blue default)."""
        key = key if key in palette.PALETTES else "rdbu"
        self.palette_key = key
        self.actions_by_name[f"palette_{key}"].setChecked(True)
        self.layer_view.set_palette(key)
        self.editors.set_palette(key)
        self.training_panel.maps.set_palette(key)
        self.exports.set_palette(key)

    def set_theme(self, key: str) -> None:
        """View ▸ Theme: light, dark or high contrast (an unknown key is light)."""
        chosen = theme.THEMES.get(key, theme.LIGHT)
        self.theme = chosen
        self.actions_by_name[f"theme_{chosen.key}"].setChecked(True)
        sheet = chosen.style_sheet() + (theme.PRESENTATION_STYLE if self.presenting else "")
        if sheet != self.styleSheet():  # the same sheet again would re-polish every widget (some 25 ms)
            self.setStyleSheet(sheet)
        self.layer_view.set_theme(chosen)
        self.stepper.set_theme(chosen)
        self.training_panel.set_theme(chosen)

    @pyqtSlot(QAction)
    def _on_palette_menu_triggered(self, action: QAction) -> None:
        self.set_palette(str(action.data()))

    @pyqtSlot(QAction)
    def _on_theme_menu_triggered(self, action: QAction) -> None:
        self.set_theme(str(action.data()))

    # ------------------------------------------------------------ numbers

    def set_number_format(self, choice: str | NumberFormat) -> None:
        """View ▸ Numbers: one format for the cells, tooltips, status bar, step text and exports.

        ``choice`` is a format or the key of one of :data:`NUMBER_CHOICES` (``auto``,
        ``sig2`` .. ``sig6``, ``fix1`` .. ``fix4``); an unknown key is ``auto``.
        """
        if isinstance(choice, str):
            choice = next((fmt for key, _text, fmt in NUMBER_CHOICES if key == choice), DEFAULT)
        comma = self.actions_by_name.get("decimal_comma")
        choice = dataclasses.replace(choice, decimal="," if comma is not None and comma.isChecked() else ".")
        self.numbers = choice
        key = self.number_format_key()
        action = self.actions_by_name.get(f"numbers_{key}")
        if action is not None:
            action.setChecked(True)
        self.layer_view.set_numbers(choice)
        self.equations.set_numbers(choice)
        self.exports.set_numbers(choice)
        pinned = self.editors.links.pinned
        if pinned is not None:  # the pinned cell's sum, in the new digits
            self.editors.links.show(*pinned)

    def number_format_key(self) -> str:
        """The key of the current View ▸ Numbers choice (``custom`` for a format set in code)."""
        shown_as = dataclasses.replace(self.numbers, decimal=".")  # the decimal comma is a setting of its own
        return next((key for key, _text, fmt in NUMBER_CHOICES if fmt == shown_as), "custom")

    @pyqtSlot(QAction)
    def _on_numbers_menu_triggered(self, action: QAction) -> None:
        self.set_number_format(str(action.data()))

    # ------------------------------------------------------------ presentation

    def set_presentation(self, on: bool, full_screen: bool = True) -> None:
        """Presentation mode (F5, View ▸ Presentation): the layer's panels and the step text, large.

        Full screen, without docks, menus, status bar and step bar; the numbers, titles and
        step text at projector size. PageDown / PageUp (what presenter clickers send) and
        Right / Left step, B / F switch the pass, Escape leaves. ``full_screen`` False keeps
        the window's size (``--screenshot --presentation``).
        """
        on = bool(on)
        action = self.actions_by_name["presentation"]
        with QSignalBlocker(action):
            action.setChecked(on)
        if on == self.presenting:
            return
        self.presenting = on
        if on:
            self._before_presentation = (
                self.saveState(LAYOUT_VERSION),
                self.splitter.saveState(),
                self.windowState(),
            )
            for dock in self.dock_names().values():
                dock.hide()
            for bar in (self.menuBar(), self.statusBar()):
                if bar is not None:
                    bar.hide()
            self.stepper.hide()
            if full_screen:
                self.showFullScreen()
        else:
            for bar in (self.menuBar(), self.statusBar()):
                if bar is not None:
                    bar.show()
            self.stepper.show()
            if self._before_presentation is not None:
                state, splitter, window_state = self._before_presentation
                self.restoreState(state, LAYOUT_VERSION)
                self.splitter.restoreState(splitter)
                self.setWindowState(window_state)
        self.layer_view.set_text_scale(self.zoom_area.percent / 100, on)
        self.equations.set_presentation(on)
        self.setStyleSheet(self.theme.style_sheet() + (theme.PRESENTATION_STYLE if on else ""))
        self._fit_presentation()
        self.hand_back_keys()

    def _fit_presentation(self) -> None:
        """In a presentation the step text gets the height its lines need, the panels the rest.

        The text in the largest of :data:`~visualconv.app.widgets.equations.PRESENTATION_SIZES`
        whose lines fit in three tenths of the window (at least a fifth), so no step's text
        scrolls and the panels keep room for their numbers (the closed forms of a conv layer's
        last backward step are four more lines); past the smallest size it takes up to half.
        """
        if not self.presenting:
            return
        height = sum(self.splitter.sizes()) or self.height() - 8  # the splitter's room less its handle
        least, most = round(height * 0.21), round(height * 0.25)
        needed = most
        for points in PRESENTATION_SIZES:
            self.equations.set_text_size(points)
            needed = self.equations.needed_height()
            if needed <= most:
                break
        share = min(max(needed, least), height // 2)
        self.splitter.setSizes([height - share, share])

    @pyqtSlot(int)
    def _on_session_step_changed(self, k: int) -> None:
        """A presentation's step text may need more lines (the closed forms of a last step)."""
        if self.presenting:
            self._fit_presentation()

    def resizeEvent(self, event: QResizeEvent | None) -> None:  # noqa: D102 - Qt API
        super().resizeEvent(event)
        self._fit_presentation()
        if self.presenting:  # again once the children have their new widths (the text wraps by them)
            QTimer.singleShot(0, self._fit_presentation)

    def hand_back_keys(self) -> None:
        """Give the focus to the heat maps, so Left/Right/Home/End step again (after typing)."""
        self.layer_view.setFocus(Qt.FocusReason.OtherFocusReason)

    def dock_names(self) -> dict[str, QDockWidget]:
        """The docks by the name ``--show`` takes: the English title in lower case, spaces as hyphens.

        The same in every language (the object name keeps the English title).
        """
        return {
            dock.objectName().removeprefix("dock-").lower().replace(" ", "-"): dock
            for dock in self.findChildren(QDockWidget)
            if dock.parent() is self
        }

    def show_dock(self, name: str) -> bool:
        """Open the dock called ``name`` (``training``, ``gradient-check``, ...) and bring its tab forward.

        Returns False when the window has no dock of that name.
        """
        dock = self.dock_names().get(name.strip().lower().replace(" ", "-").replace("_", "-"))
        if dock is None:
            return False
        dock.show()
        dock.raise_()
        return True

    def _action(
        self,
        name: str,
        text: str,
        slot: object,
        shortcut: QKeySequence | str | None = None,
        menu: str | None = None,
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)  # type: ignore[attr-defined]
        self.addAction(action)
        if menu is not None:
            self.menus[menu].addAction(action)
        self.actions_by_name[name] = action
        return action

    def _add(self, menu: str, name: str, action: QAction) -> None:
        """Put an action someone else made (the editors' undo, ...) in a menu, window-wide."""
        self.addAction(action)
        self.menus[menu].addAction(action)
        self.actions_by_name[name] = action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        assert bar is not None
        for key, title in (
            ("file", _("&File")),
            ("edit", _("&Edit")),
            ("step", _("&Step")),
            ("view", _("&View")),
            ("help", _("&Help")),
        ):
            menu = bar.addMenu(title)
            assert menu is not None
            self.menus[key] = menu
        S = QKeySequence.StandardKey

        file = self.menus["file"]
        self._action("open", _("&Open…"), self.open_dialog, S.Open, "file")
        self.sample_menu = file.addMenu(_("Open &sample"))
        assert self.sample_menu is not None
        for sample in samples():
            action = self.sample_menu.addAction(shown(sample.name))
            assert action is not None
            action.setToolTip(sample.path.name)
            action.setData(str(sample.path))
        self.sample_menu.triggered.connect(self._on_file_menu_triggered)
        self.recent_menu = file.addMenu(_("Open &recent"))
        assert self.recent_menu is not None
        self.recent_menu.triggered.connect(self._on_file_menu_triggered)
        self._refresh_recent_menu()
        self._action("import", _("&Import network (ONNX, .pt2)…"), self.import_dialog, None, "file")
        file.addSeparator()
        self._action("save", _("&Save"), self.save, S.Save, "file")
        self._action("save_as", _("Save &As…"), self.save_as, S.SaveAs, "file")
        file.addSeparator()
        self.export_menu = file.addMenu(_("&Export"))
        assert self.export_menu is not None
        for name, text, slot, shortcut in EXPORT_MENU:
            action = self.export_menu.addAction(_(text))
            assert action is not None
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(getattr(self.exports, slot))
            self.actions_by_name[name] = action
        file.addSeparator()
        self._action("quit", _("&Quit"), self.close, S.Quit, "file")

        edit = self.editors.actions
        self._add("edit", "undo", edit["undo"])
        self._add("edit", "redo", edit["redo"])
        self.menus["edit"].addSeparator()
        self._add("edit", "copy_csv", edit["copy_csv"])
        self._add("edit", "paste", edit["paste"])
        self.menus["edit"].addSeparator()
        for name in ("new_1d", "new_2d", "check"):
            self._add("edit", name, edit[name])

        stepper = self.stepper
        following = self._action("next", _("&Next overlay"), self.session.next, Qt.Key.Key_Right, "step")
        following.setShortcuts([QKeySequence(Qt.Key.Key_Right), QKeySequence(Qt.Key.Key_PageDown)])
        before = self._action(
            "previous", _("&Previous overlay"), self.session.previous, Qt.Key.Key_Left, "step"
        )
        before.setShortcuts([QKeySequence(Qt.Key.Key_Left), QKeySequence(Qt.Key.Key_PageUp)])
        self._action("first", _("&First step"), self.session.first, Qt.Key.Key_Home, "step")
        self._action("last", _("&Last step"), self.session.last, Qt.Key.Key_End, "step")
        self._action("play", _("Play / &pause"), stepper.toggle_play, Qt.Key.Key_Space, "step")
        self.menus["step"].addSeparator()
        self._action("forward", _("&Forward pass"), self._on_forward_triggered, "F", "step")
        self._action("backward", _("&Backward pass"), self._on_backward_triggered, "B", "step")

        fixed = self._action(
            "fixed_scale",
            _("&Fixed colour scale across steps (off: each step scaled to its own largest value)"),
            self.layer_view.set_fixed_scale,
            None,
            "view",
            checkable=True,
        )
        fixed.setChecked(self.layer_view.fixed_scale)  # on by default: frame k matches exported slide k
        numbers = self._action(
            "numbers",
            _("Show &numbers in cells"),
            self.layer_view.set_show_numbers,
            None,
            "view",
            checkable=True,
        )
        numbers.setChecked(True)
        comma = self._action(
            "decimal_comma",
            _("Decimal &comma (0,5 instead of 0.5)"),
            self.set_decimal_comma,
            None,
            "view",
            checkable=True,
        )
        language = self.menus["view"].addMenu(_("&Language"))
        assert language is not None
        self.language_menu = LanguageMenu(language, self._language_roots, self.settings)
        self.language_menu.sigLanguageChanged.connect(self._on_language_changed)
        self._decimal_comma_on_start = comma
        self.menus["view"].addSeparator()  # the docks' toggles follow (add_dock), then _build_view_menu's

        self._action(
            "guide", _("&User guide"), self._on_guide_triggered, QKeySequence.StandardKey.HelpContents, "help"
        )
        self._action("tour", _("Guided &tour"), self._on_tour_triggered, None, "help")
        self._action("shortcuts", _("&Keyboard shortcuts"), self._on_shortcuts_triggered, None, "help")
        self._action("about", _("&About visualconv"), self._on_about_triggered, None, "help")

    def _build_view_menu(self) -> None:
        """The rest of View, after the docks' toggles: numbers, colours, presentation, zoom, layout."""
        S = QKeySequence.StandardKey
        self.menus["view"].addSeparator()
        self.numbers_menu = self.menus["view"].addMenu(_("N&umbers"))
        assert self.numbers_menu is not None
        group = QActionGroup(self)
        for key, text, _fmt in NUMBER_CHOICES:
            choice = self.numbers_menu.addAction(_number_label(key, text))
            assert choice is not None
            choice.setCheckable(True)
            choice.setData(key)
            choice.setChecked(key == "auto")
            group.addAction(choice)
            self.actions_by_name[f"numbers_{key}"] = choice
        self.numbers_menu.triggered.connect(self._on_numbers_menu_triggered)
        self.palette_menu = self._choice_menu(
            _("&Palette"), "palette", [(p.key, _(p.title)) for p in palette.PALETTES.values()], "rdbu"
        )
        self.palette_menu.triggered.connect(self._on_palette_menu_triggered)
        self.theme_menu = self._choice_menu(
            _("&Theme"), "theme", [(t.key, _(t.title)) for t in theme.THEMES.values()], "light"
        )
        self.theme_menu.triggered.connect(self._on_theme_menu_triggered)
        self.menus["view"].addSeparator()
        self._action(
            "presentation",
            _("&Presentation (full screen)"),
            self._on_presentation_toggled,
            "F5",
            "view",
            checkable=True,
        )
        zoom = self.zoom_area
        zoom_in = self._action("zoom_in", _("Zoom &in"), zoom.zoom_in, S.ZoomIn, "view")
        zoom_in.setShortcuts([QKeySequence(S.ZoomIn), QKeySequence("Ctrl+=")])  # Ctrl+= : plus without Shift
        self._action("zoom_out", _("Zoom &out"), zoom.zoom_out, S.ZoomOut, "view")
        self._action("zoom_reset", _("&Actual size (100 %)"), zoom.reset_zoom, "Ctrl+0", "view")
        self.menus["view"].addSeparator()
        self._action("reset_layout", _("&Reset layout"), self.reset_layout, None, "view")
        comma = self._decimal_comma_on_start
        comma.setChecked(self.settings.value(DECIMAL_COMMA, False, type=bool))  # after the numbers menu

    # ------------------------------------------------------------ files

    def confirm_unsaved_changes(self) -> bool:
        """Ask Save / Discard / Cancel when the model has unsaved changes.

        Returns True when the caller may go on (saved, discarded or nothing to save).
        """
        if not self.session.dirty:
            return True
        name = printable(shown(self.session.model.name)) if self.session.model else _("the model")
        answer = QMessageBox.question(
            self,
            _("Unsaved changes"),
            _("Save the changes to {name}?").format(name=name),
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def open_file_keeping_changes(self, path: str | Path) -> bool:
        """Open a file from a menu: unsaved changes are saved or discarded first, or it is cancelled."""
        return self.confirm_unsaved_changes() and self.open_file(path)

    def open_dialog(self) -> bool:
        """Ask for a model file and open it."""
        if not self.confirm_unsaved_changes():
            return False
        start = str(Path(self.session.path).parent) if self.session.path else str(sample_dir() or Path.home())
        path, _filter = QFileDialog.getOpenFileName(self, _("Open model"), start, _(FILE_FILTER))
        return self.open_file(path) if path else False

    def open_file(self, path: str | Path) -> bool:
        """Open a model file; on an error show its message and keep the current model."""
        try:
            self.session.open(path)
        except (ModelError, OSError) as exc:
            message = exc.localized() if isinstance(exc, ModelError) else f"{path}: {exc.strerror or exc}"
            QMessageBox.warning(self, _("Cannot open the model"), message)
            return False
        self.remember_file(str(path))
        return True

    def import_dialog(self) -> bool:
        """Ask for an ONNX or torch.export network and import it."""
        if not self.confirm_unsaved_changes():
            return False
        start = str(Path(self.session.path).parent) if self.session.path else str(Path.home())
        path, _filter = QFileDialog.getOpenFileName(self, _("Import network"), start, _(IMPORT_FILTER))
        return self.import_file(path) if path else False

    def import_file(self, path: str | Path) -> bool:
        """Import a network: it becomes the model, unsaved; an error is shown and the model kept."""
        from ..bridge.command import import_network
        from ..modelfile import model_from_document

        try:
            model = model_from_document(import_network(str(path)))
            model.shapes()
        except ModelError as exc:
            QMessageBox.warning(self, _("Cannot import the network"), exc.localized())
            return False
        self.session.set_model(model, "", dirty=True)
        self.statusBar().showMessage(
            _("Imported {path}; Save As writes it as a model file").format(path=path), 8000
        )
        return True

    def show_model(
        self, model: Model, path: str = "", *, layer: int = 0, pass_name: str | None = None, step: int = 0
    ) -> None:
        """Show a model built in code (tests, benchmarks) or loaded elsewhere."""
        self.session.set_model(model, path, layer=layer, pass_name=pass_name, step=step)

    def save(self) -> bool:
        """Save to the model's own file (Save As for a new model or a shipped sample)."""
        path = self.session.path
        samples_folder = sample_dir()
        if not path or (
            samples_folder is not None and Path(path).resolve().parent == samples_folder.resolve()
        ):
            return self.save_as()
        return self._save_to(path)

    def save_as(self) -> bool:
        """Ask for a file name and save there."""
        start = self.session.path if self.session.path else str(Path.home() / "model.json")
        path, _filter = QFileDialog.getSaveFileName(self, _("Save model as"), start, _(FILE_FILTER))
        return self._save_to(path) if path else False

    def _save_to(self, path: str) -> bool:
        try:
            self.session.save(path)
        except (ModelError, OSError, ValueError) as exc:
            if isinstance(exc, OSError) and not isinstance(exc, ModelError):  # the old file is intact
                message = f"{path}: {exc.strerror or exc}. " + _("The file was not changed.")
            else:  # a WriteError says so itself: "FILE: could not write: ... (the old file is unchanged)"
                message = said(exc)
            QMessageBox.warning(self, _("Cannot save the model"), message)
            return False
        self.remember_file(path)
        self.statusBar().showMessage(_("Saved {path}").format(path=path), 4000)
        return True

    def recent_files(self) -> list[str]:
        """Recently opened or saved files, newest first."""
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def remember_file(self, path: str) -> None:
        """Put a file at the top of the recent files."""
        path = str(Path(path).resolve())
        files = [path, *(p for p in self.recent_files() if p != path)][:MAX_RECENT]
        self.settings.setValue("recentFiles", files)
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for path in files:
            action = self.recent_menu.addAction(Path(path).name)
            assert action is not None
            action.setToolTip(path)
            action.setData(path)
        self.recent_menu.setEnabled(bool(files))

    def confirm_training_run(self) -> bool:
        """Ask Save / Discard / Cancel when a training run holds weights that are not in the model.

        Save stops the run, shows the trained model (unsaved) and saves it; Discard stops
        the run and drops its weights. Returns True when the caller may go on.
        """
        panel = self.training_panel
        if not panel.has_untaken_weights:
            return True
        was_running = panel.state == "running"
        panel.pause()
        iterations = len(panel.records)
        answer = QMessageBox.question(
            self,
            _("Training run in progress"),
            ngettext(
                "The training run has trained {n} iteration; its weights are not saved.",
                "The training run has trained {n} iterations; its weights are not saved.",
                iterations,
            ).format(n=iterations)
            + "\n\n"
            + _(
                "Save stops the run and saves the model with the trained weights; "
                "Discard stops the run and drops them."
            ),
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            panel.stop()
            panel.apply_trained()  # the trained weights become the model (one undoable edit), then saved
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            panel.shutdown()
            return True
        if was_running:
            panel.start()  # resumes the paused run
        return False

    def shutdown(self) -> None:
        """Stop every piece of background work of this window and wait for it to end."""
        self.stepper.pause()
        self._remove_key_guard()
        self.training_panel.shutdown()
        self.editors.shutdown()
        self.exports.shutdown()
        self.autosave.release()
        self.settings.sync()

    def _remove_key_guard(self) -> None:
        """Take this window's key filter off the application: a closed window guards no keys.

        The filter is application-wide; left installed after the window closed, the
        application would call into it until the window is finally deleted, which may be
        long after its Python side has gone (a deferred delete), and that crashes.
        """
        guard = getattr(self, "_key_guard", None)
        app = QApplication.instance()
        if guard is not None and app is not None and not sip.isdeleted(guard):
            app.removeEventFilter(guard)
        self._key_guard = None

    def closeEvent(self, event: QCloseEvent | None) -> None:
        """Ask before closing a model with unsaved changes or trained weights; then stop the work."""
        if event is None:
            return
        if not (self.confirm_training_run() and self.confirm_unsaved_changes()):
            event.ignore()
            return
        if self.remembers_layout:
            self.save_layout()
        self.shutdown()
        event.accept()
        self.sigClosed.emit()

    # ------------------------------------------------------------ handlers

    @pyqtSlot(int)
    def _on_zoom_changed(self, percent: int) -> None:
        self.layer_view.set_text_scale(percent / 100)
        self.statusBar().showMessage(_("Zoom {percent} %").format(percent=percent), 2000)

    @pyqtSlot(bool)
    def _on_presentation_toggled(self, on: bool) -> None:
        self.set_presentation(on)

    @pyqtSlot()
    def _on_escape_triggered(self) -> None:
        """Escape (View ▸ Clear highlights) also leaves the presentation, or brings back the grid."""
        if self.layer_view.enlarged:
            self.layer_view.show_all()
        elif self.presenting:
            self.set_presentation(False)

    def _on_session_model_changed(self, model: Model) -> None:
        self.setWindowTitle(f"{printable(shown(model.name))}[*] — visualconv")  # i18n: ok (a name)
        self.actions_by_name["backward"].setEnabled(model.has_backward)

    def _on_session_path_changed(self, path: str) -> None:
        self.setWindowFilePath(path)

    def _on_session_dirty_changed(self, dirty: bool) -> None:
        self.setWindowModified(dirty)

    @pyqtSlot(QAction)
    def _on_file_menu_triggered(self, action: QAction) -> None:
        """Open sample / Open recent: the chosen file, after the question about unsaved changes."""
        path = action.data()
        if path:
            self.open_file_keeping_changes(str(path))

    def _on_forward_triggered(self) -> None:
        self.session.set_pass("forward")

    def _on_backward_triggered(self) -> None:
        if self.session.model is not None and self.session.model.has_backward:
            self.session.set_pass("backward")

    def _on_shortcuts_triggered(self) -> None:
        ShortcutList(self).exec()

    def _on_guide_triggered(self) -> None:
        guide = UserGuide(self)
        guide.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        guide.show()

    def _on_tour_triggered(self) -> None:
        self.start_tour()

    def start_tour(self) -> bool:
        """Help ▸ Guided tour (and the first start): the walk through the seed 1-D example."""
        if self.tour is None:
            self.tour = GuidedTour(self, self.settings)
        return self.tour.start()

    def _on_about_triggered(self) -> None:
        from .. import __version__

        QMessageBox.about(
            self,
            _("About visualconv"),
            f"visualconv {__version__}\n\n"  # i18n: ok
            + _("A visual debugger for backpropagation through convolution and pooling layers."),
        )

    # ------------------------------------------------------------ language and numbers

    def set_decimal_comma(self, on: bool) -> None:
        """Write numbers with a decimal comma (``0,5``; lists ``[0,3; 0,5]``) or the point; remembered."""
        self.settings.setValue(DECIMAL_COMMA, bool(on))
        self.set_number_format(dataclasses.replace(self.numbers, decimal="," if on else "."))
        self.session.refresh()

    def _language_roots(self) -> list[QObject]:
        """What a language switch re-reads: the window (its menus, docks and panels are its children)."""
        return [self]

    def set_language(self, code: str) -> None:
        """Speak ``code`` (``de``, ``pt-BR``, ``id``, ``zh-CN``, ``en``), as View ▸ Language does."""
        self.language_menu.switch(code)

    @pyqtSlot(str)
    def _on_language_changed(self, code: str) -> None:
        """Rebuild what is made of words and numbers: the heat maps' headings, the step text, the title."""
        self.navigator.refresh()
        self.session.refresh()
        self.training_panel.retranslate()
        self.editors.editor.retranslate()
        for key, text, _fmt in NUMBER_CHOICES:  # plurals: the tree's re-reading knows one form only
            self.actions_by_name[f"numbers_{key}"].setText(_number_label(key, text))
        if self.session.model is not None:
            self._on_session_model_changed(self.session.model)
        problem = cjk_font_problem(code)
        if problem:
            self.statusBar().showMessage(problem, 15000)
