"""Start the window: ``visualconv [FILE] [--screenshot OUT.png --window-size WxH --show DOCK ...]``."""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..engine.errors import ModelError

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
        raise ValueError(f"--window-size {text}: expected WIDTHxHEIGHT, for example 1280x720") from None
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise ValueError(f"--window-size {text}: width and height must be between 200 and 8000 pixels")
    return width, height


def _prepare_environment(screenshot: bool) -> str | None:
    """Choose the Qt platform; returns an error line when no window can be shown."""
    if not os.environ.get("QT_QPA_PLATFORM") and not _has_display():
        if not screenshot:
            return (
                "visualconv: no display found (DISPLAY and WAYLAND_DISPLAY are unset); run it on a desktop, "
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
    prints them and exits 2).
    """
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

    path = args.file or default_sample()
    if path is None:
        print("visualconv: no model file given and the sample models are not installed", file=sys.stderr)
        return EXIT_ERROR
    model = load_model(path)
    model.shapes()
    count = len(model.layers)
    layer = int(getattr(args, "layer", 0) or 0)
    if not -count <= layer < count:
        raise ModelError(f"--layer {layer}: the model has layers 0..{count - 1}", "", str(path))
    layer %= count
    pass_name = getattr(args, "pass_name", None)
    if pass_name == "backward" and not model.has_backward:
        from ..engine.kinds.loss import NO_BACKWARD

        raise ModelError(f"--pass backward: {NO_BACKWARD}", "", str(path))

    from PyQt6.QtCore import QCoreApplication
    from PyQt6.QtWidgets import QApplication

    _install_message_filter()
    QCoreApplication.setOrganizationName("visualconv")
    QCoreApplication.setApplicationName("visualconv")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)

    from .excepthook import ExceptionHook
    from .main_window import MainWindow, configure_pyqtgraph

    configure_pyqtgraph()
    window = MainWindow()
    from .integration import install

    install(window)  # the Training dock and File > Export
    hook = ExceptionHook(lambda: window, interactive=not screenshot).install()
    try:
        if not screenshot and not requested:
            size = fit_to_screen(size, _available(app))
        for name in getattr(args, "show", None) or ():
            for part in name.split(","):
                if part.strip() and not window.show_dock(part):
                    names = ", ".join(sorted(window.dock_names()))
                    print(f"visualconv: --show {part}: expected one of {names}", file=sys.stderr)
                    return EXIT_ERROR
        window.resize(*size)
        window.show_model(model, str(Path(path)), layer=layer, pass_name=pass_name or "forward")
        n = window.session.n
        step = getattr(args, "step", None)
        if step is not None:
            if not 0 <= step <= n:
                raise ModelError(f"--step {step}: this pass has steps 0..{n}", "", str(path))
            window.session.set_step(step)
        if screenshot:
            return _screenshot(app, window, screenshot, size)
        if args.file:
            window.remember_file(str(path))
        window.show()
        from .autosave import start_autosave

        windows = [window]

        def open_window() -> MainWindow:
            """A further window, for a second model recovered after a crash."""
            other = MainWindow()
            install(other)
            other.resize(*size)
            other.show()
            windows.append(other)
            return other

        # Offers every unsaved model left by windows that crashed, then journals each edit.
        start_autosave(window, open_window=open_window)
        return int(app.exec())
    finally:
        hook.uninstall()


def _available(app: object) -> tuple[int, int] | None:
    """The primary screen's available size (without task bars), if Qt knows one."""
    from PyQt6.QtWidgets import QApplication

    assert isinstance(app, QApplication)
    screen = app.primaryScreen()
    if screen is None:
        return None
    geometry = screen.availableGeometry()
    return geometry.width(), geometry.height()


def _screenshot(app: object, window: object, out: str, size: tuple[int, int]) -> int:
    from PyQt6.QtWidgets import QApplication, QMainWindow

    assert isinstance(window, QMainWindow)
    window.show()
    window.resize(*size)
    for _ in range(5):
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
