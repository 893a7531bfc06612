"""Start the window: ``visualconv [FILE] [--screenshot OUT.png --window-size WxH --show DOCK ...]``."""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.collector import StartUp
from ..engine.errors import ModelError
from ..i18n import _

if TYPE_CHECKING:
    from PyQt6.QtCore import QObject

EXIT_OK, EXIT_ERROR = 0, 2

# Qt messages that are harmless here and would only worry users (and fail strict tests).
IGNORED_QT_MESSAGES = ("propagateSizeHints", "XDG_RUNTIME_DIR")


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


DEFAULT_SIZE = (1400, 900)


def fit_to_screen(size: tuple[int, int], available: tuple[int, int] | None) -> tuple[int, int]:
    """``size`` shrunk to the screen's ``available`` (width, height), if there is one."""
    if available is None or available[0] <= 0 or available[1] <= 0:
        return size
    return min(size[0], available[0]), min(size[1], available[1])


def parse_size(text: str) -> tuple[int, int]:
    """``"1400x900"`` to (1400, 900).

    Raises
    ------
    ValueError
        For anything else, or sizes outside 200..8000.
    """
    parts = text.lower().replace("×", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"--window-size {text}: " + _("expected WIDTHxHEIGHT, for example 1280x720")
        ) from None
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise ValueError(
            f"--window-size {text}: " + _("width and height must be between 200 and 8000 pixels")
        )
    return width, height


def parse_zoom(text: str) -> int:
    """``"200"`` (or ``"200%"``) to 200.

    Raises
    ------
    ValueError
        For anything else, or a zoom outside 50..400.
    """
    try:
        percent = int(str(text).strip().rstrip("%").strip())
    except ValueError:
        raise ValueError(
            f"--zoom {text}: " + _("expected a percentage from 50 to 400, for example 200")
        ) from None
    if not 50 <= percent <= 400:
        raise ValueError(f"--zoom {text}: " + _("expected a percentage from 50 to 400, for example 200"))
    return percent


def _prepare_environment(screenshot: bool) -> str | None:
    """Choose the Qt platform; returns an error line when no window can be shown."""
    if not os.environ.get("QT_QPA_PLATFORM") and not _has_display():
        if not screenshot:
            return "visualconv: " + _(
                "no display found (DISPLAY and WAYLAND_DISPLAY are unset); run it on a desktop, "
                "under xvfb-run, or use --screenshot OUT.png or the headless commands (grad, steps, export)"
            )
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = tempfile.mkdtemp(prefix="visualconv-runtime-")
        os.chmod(runtime, 0o700)
        os.environ["XDG_RUNTIME_DIR"] = runtime
        atexit.register(shutil.rmtree, runtime, True)  # removed again at exit
    return None


def _install_message_filter() -> None:
    from PyQt6.QtCore import QtMsgType, qInstallMessageHandler

    def handler(kind: QtMsgType, context: object, message: str | None) -> None:
        if message and any(part in message for part in IGNORED_QT_MESSAGES):
            return
        if kind != QtMsgType.QtDebugMsg:
            print(f"qt: {message}", file=sys.stderr)

    qInstallMessageHandler(handler)


def run_app(args: argparse.Namespace) -> int:
    """Open the window (or render it to ``args.screenshot``) and return the exit status.

    Errors in the model file or the options raise :class:`ModelError` (the command line
    prints them and exits 2). The garbage collector is paused until the window is built
    and shown (see :mod:`visualconv.engine.collector`).
    """
    start = StartUp()
    try:
        return _run_app(args, start)
    finally:
        start.over(settle=False)  # an error or a screenshot: the collector as it was


def _run_app(args: argparse.Namespace, start: StartUp) -> int:
    from ..engine.memory import reuse_freed_memory
    from ..modelfile import load_model
    from ..samples import default_sample

    reuse_freed_memory()  # an entry point: the engine's allocator setting (see engine/memory.py)
    screenshot = getattr(args, "screenshot", None)
    problem = _prepare_environment(bool(screenshot))
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_ERROR
    requested = getattr(args, "size", None)
    try:
        size = parse_size(requested) if requested else DEFAULT_SIZE
    except ValueError as exc:
        print(f"visualconv: {exc}", file=sys.stderr)
        return EXIT_ERROR

    zoom = getattr(args, "zoom", None)
    try:
        zoom = parse_zoom(zoom) if zoom is not None else None
    except ValueError as exc:
        print(f"visualconv: {exc}", file=sys.stderr)
        return EXIT_ERROR

    path = args.file or default_sample()
    if path is None:
        print(
            "visualconv: " + _("no model file given and the sample models are not installed"), file=sys.stderr
        )
        return EXIT_ERROR
    model = load_model(path)
    model.shapes()
    count = len(model.layers)
    layer = int(getattr(args, "layer", 0) or 0)
    if not -count <= layer < count:
        raise ModelError(
            f"--layer {layer}: "  # i18n: ok (an option)
            + _("the model has layers 0..{last}").format(last=count - 1),
            "",
            str(path),
        )
    layer %= count
    pass_name = getattr(args, "pass_name", None)
    if pass_name == "backward" and not model.has_backward:
        from ..engine.kinds.loss import NO_BACKWARD

        raise ModelError("--pass backward: " + _(NO_BACKWARD), "", str(path))  # i18n: ok

    from PyQt6 import sip
    from PyQt6.QtCore import QCoreApplication, Qt
    from PyQt6.QtWidgets import QApplication

    _install_message_filter()
    QCoreApplication.setOrganizationName("visualconv")
    QCoreApplication.setApplicationName("visualconv")
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])

    from .language import cjk_font_problem, install_qt_translations, use_language_font
    from .main_window import MainWindow, configure_pyqtgraph

    _choose_language(args)
    install_qt_translations()
    font_problem = cjk_font_problem()
    if font_problem:
        print(f"visualconv: {font_problem}", file=sys.stderr)
    configure_pyqtgraph()
    window = MainWindow()
    use_language_font(None, [window])
    windows: list[MainWindow] = [window]  # a recovered second model opens a second window
    hook = window.exception_hook
    hook.interactive = not screenshot
    hook.install()
    try:
        if not screenshot:  # the last session's size and docks, if they fit the screen (saved again on close)
            window.restore_layout()
        for name in getattr(args, "show", None) or ():
            for part in name.split(","):
                if part.strip() and not window.show_dock(part):
                    names = ", ".join(sorted(window.dock_names()))
                    print(
                        f"visualconv: --show {part}: " + _("expected one of {names}").format(names=names),
                        file=sys.stderr,
                    )
                    return EXIT_ERROR
        if screenshot or requested:
            window.resize(*size)
        size = (window.width(), window.height())
        if zoom is not None:
            window.zoom_area.set_zoom(zoom)
        if getattr(args, "palette", None):
            window.set_palette(args.palette)
        window.show_model(model, str(Path(path)), layer=layer, pass_name=pass_name or "forward")
        if getattr(args, "presentation", False):
            window.set_presentation(True, full_screen=not screenshot)
        n = window.session.n
        step = getattr(args, "step", None)
        if step is not None:
            if not 0 <= step <= n:
                raise ModelError(
                    f"--step {step}: "  # i18n: ok (an option)
                    + _("this pass has steps 0..{n}").format(n=n),
                    "",
                    str(path),
                )
            window.session.set_step(step)
        if screenshot:
            return _screenshot(app, window, screenshot, size)
        if args.file:
            window.remember_file(str(path))
        window.show()
        from PyQt6.QtCore import QTimer

        # Once the event loop runs (the first frame is on its way), the collector runs again; in a
        # process of our own, without passes over the modules and the window from now on.
        QTimer.singleShot(0, lambda: start.over(settle=existing is None))
        from .help import tour_wanted

        asked = bool(getattr(args, "tour", False))
        tour = tour_wanted(window.settings, asked) and (asked or not args.file)
        if tour and args.file:
            window.start_tour()  # --tour FILE: the walk opens the seed 1-D example instead at once
        from .autosave import start_autosave

        def open_window() -> MainWindow:
            """A further window, for a second model recovered after a crash."""
            other = MainWindow()
            other.resize(*size)
            other.show()
            windows.append(other)
            return other

        # Offers every unsaved model left by windows that crashed; each window journals its edits.
        start_autosave(window, open_window=open_window)
        if tour and not args.file:
            # The first start (or --tour): the walk through the seed 1-D example, which is open
            # already; its first stop shows right after the window's first frame.
            QTimer.singleShot(0, window.start_tour)
        return int(app.exec())
    finally:
        hook.uninstall()
        if existing is None:  # our application, our process: nothing is left for PyQt's exit clean-up
            for other in windows[1:]:
                dispose(other)
            dispose(window, app)
        else:
            # The caller owns the application and the windows stay theirs (tests, scripts) until
            # they close: then Qt deletes them at a safe point, not a garbage collection later.
            for shown in windows:
                if not sip.isdeleted(shown):
                    shown.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)


def _choose_language(args: argparse.Namespace) -> None:
    """``--lang`` or ``VISUALCONV_LANG`` when given (already set), else View ▸ Language's last choice.

    Without either, the system locale's language stays (set by the command line).
    """
    from PyQt6.QtCore import QSettings

    from .. import i18n
    from .language import remembered_language

    if getattr(args, "lang", None) or os.environ.get("VISUALCONV_LANG"):
        return
    remembered = remembered_language(QSettings("visualconv", "visualconv"))
    if remembered is not None:
        i18n.set_language(remembered)


def dispose(window: QObject, app: QObject | None = None) -> None:
    """Delete the window and everything it left behind now, so PyQt's exit clean-up finds nothing.

    PyQt deletes the QObjects Python still owns at interpreter exit (``cleanup_on_exit``
    in ``atexit``) while it walks its table of wrappers; an object deleted there that
    takes children with it (pyqtgraph's parentless plot menus, a window) frees wrappers
    under the walk, and the process segfaults after ``run_app`` returned. So, in this
    order: the window's background work is stopped and joined, the window is deleted,
    pending ``deleteLater`` calls run and, when ``app`` is the application we created
    (the process is ours), every parentless QObject Python still owns is deleted too
    (:func:`_sweep`). The application itself is handed to C++: it lives until the
    process ends, as a module-level QApplication does, and is never destroyed behind
    the wrappers.
    """
    from PyQt6 import sip

    if not sip.isdeleted(window):
        shutdown = getattr(window, "shutdown", None)
        if callable(shutdown):
            shutdown()
        sip.delete(window)
    if app is not None and not sip.isdeleted(app):
        _sweep(app)
    else:
        _run_deferred_deletes()


def _run_deferred_deletes() -> None:
    import gc

    from PyQt6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    gc.collect()


def _sweep(app: QObject) -> None:
    """Delete every parentless QObject Python owns on the GUI thread, then keep ``app`` to the end."""
    import gc

    from PyQt6 import sip
    from PyQt6.QtCore import QObject, QSettings

    _run_deferred_deletes()
    for leftover in [o for o in gc.get_objects() if issubclass(type(o), QObject)]:
        if leftover is app or sip.isdeleted(leftover) or not sip.ispyowned(leftover):
            continue
        if leftover.parent() is None and leftover.thread() == app.thread():
            if isinstance(leftover, QSettings):
                leftover.sync()
            sip.delete(leftover)
    _run_deferred_deletes()
    sip.transferto(app, None)


_EXIT_CLEAN_UP: list[bool] = []


def dispose_at_exit() -> None:
    """Make sure windows a script or a test left open are disposed of before PyQt's exit clean-up.

    Registered once, when the first window is made (after the application, so this runs
    before PyQt's own ``atexit`` call): every main window still there is disposed of as
    :func:`dispose` does, then the leftovers are swept.
    """
    if not _EXIT_CLEAN_UP:
        import atexit

        atexit.register(_dispose_everything)
        _EXIT_CLEAN_UP.append(True)


def _dispose_everything() -> None:
    from PyQt6 import sip
    from PyQt6.QtWidgets import QApplication, QMainWindow

    app = QApplication.instance()
    if app is None or sip.isdeleted(app):
        return
    assert isinstance(app, QApplication)
    for widget in app.topLevelWidgets():
        if isinstance(widget, QMainWindow) and not sip.isdeleted(widget) and hasattr(widget, "shutdown"):
            dispose(widget)
    _sweep(app)


def _screenshot(app: object, window: object, out: str, size: tuple[int, int]) -> int:
    from PyQt6.QtWidgets import QApplication, QMainWindow

    assert isinstance(window, QMainWindow)
    window.show()
    window.resize(*size)
    for _i in range(5):
        QApplication.processEvents()
    window.layer_view.refresh()  # type: ignore[attr-defined]
    QApplication.processEvents()
    if (window.width(), window.height()) != size:
        print(
            f"visualconv: the window cannot be smaller than {window.width()}x{window.height()}; "
            "the screenshot has that size",
            file=sys.stderr,
        )
    pixmap = window.grab()
    if not pixmap.save(out):
        print(f"visualconv: cannot write the screenshot {out}", file=sys.stderr)
        return EXIT_ERROR
    window.close()
    return EXIT_OK
