"""Drive the real window on a virtual X screen: Xvfb, the window's process, real X input.

Used by the real-input tests (``test_real_x.py``) and the long runs by hand
(``quit_loop.py``, ``monkey.py``). Input goes through the X server with xdotool, as a
user's mouse and keyboard would; a window close is the ``WM_DELETE_WINDOW`` message a
window manager sends for the title bar's close button. There is no window manager:
the main window sits at (0, 0) and a menu popup is a new visible window.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = Path(__file__).with_name("xlaunch.py")
SCREEN = (1600, 1000)
APT_PACKAGES = ("xvfb", "libxcb-icccm4", "libxcb-keysyms1", "xdotool")


def missing() -> str | None:
    """Why a real X session cannot run here (None when it can)."""
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {' '.join(APT_PACKAGES)})"
    for library, package in (
        ("X11", "libx11-6"),
        ("xcb-icccm", "libxcb-icccm4"),
        ("xcb-keysyms", "libxcb-keysyms1"),
    ):
        if ctypes.util.find_library(library) is None:
            return f"lib{library} is not installed (apt-get install {package})"
    return None


@dataclass(frozen=True)
class Rect:
    """A window's place on the screen, in pixels."""

    x: int
    y: int
    width: int
    height: int

    @property
    def centre(self) -> tuple[int, int]:
        """The middle of the rectangle."""
        return self.x + self.width // 2, self.y + self.height // 2


class Display:
    """One Xvfb server (started on a free display number) and xdotool calls on it."""

    def __init__(self, size: tuple[int, int] = SCREEN) -> None:
        read, write = os.pipe()
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        number = b""
        with os.fdopen(read, "rb") as pipe:
            while not number.endswith(b"\n"):
                chunk = pipe.read(1)
                if not chunk:
                    break
                number += chunk
        if not number.strip():
            self.process.kill()
            raise RuntimeError("Xvfb did not start")
        self.name = f":{int(number)}"
        self._xlib = _Xlib(self.name)

    def close(self) -> None:
        """Stop the server."""
        self._xlib.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ xdotool

    def xdotool(self, *args: str | int, check: bool = False) -> str:
        """Run one xdotool command on this display; its output."""
        result = subprocess.run(
            ["xdotool", *map(str, args)],
            env={**os.environ, "DISPLAY": self.name},
            capture_output=True,
            text=True,
            timeout=20,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(map(str, args))}: {result.stderr.strip()}")
        return result.stdout

    def visible(self) -> list[int]:
        """Ids of every visible window (the main window, popups, dialogs)."""
        return [int(w) for w in self.xdotool("search", "--onlyvisible", "--name", ".*").split()]

    def windows_of(self, pid: int) -> list[int]:
        """Visible windows of one process."""
        return [int(w) for w in self.xdotool("search", "--onlyvisible", "--pid", pid).split()]

    def geometry(self, window: int) -> Rect | None:
        """Where a window is (None when it went away)."""
        text = self.xdotool("getwindowgeometry", window)
        pos = re.search(r"Position: (-?\d+),(-?\d+)", text)
        size = re.search(r"Geometry: (\d+)x(\d+)", text)
        if pos is None or size is None:
            return None
        return Rect(int(pos[1]), int(pos[2]), int(size[1]), int(size[2]))

    def name_of(self, window: int) -> str:
        """A window's title."""
        return self.xdotool("getwindowname", window).strip()

    def move(self, x: int, y: int) -> None:
        """Move the pointer."""
        self.xdotool("mousemove", x, y)

    def click(self, x: int, y: int, button: int = 1) -> None:
        """Move the pointer and click (1 left, 2 middle, 3 right, 4/5 wheel)."""
        self.xdotool("mousemove", x, y, "click", button)

    def drag(self, start: tuple[int, int], end: tuple[int, int]) -> None:
        """Press at ``start``, move to ``end`` and release."""
        self.xdotool("mousemove", *start, "mousedown", 1, "mousemove", *end, "mouseup", 1)

    def key(self, *keys: str) -> None:
        """Press keys in turn (xdotool names: ctrl+q, Right, Escape...) to the focused window."""
        self.xdotool("key", "--delay", 20, *keys)

    def type_text(self, text: str) -> None:
        """Type text as keystrokes."""
        self.xdotool("type", "--delay", 10, text)

    def focus(self, window: int) -> None:
        """Give a window the keyboard focus (no window manager: nothing does it for us)."""
        self.xdotool("windowfocus", "--sync", window)

    def close_window(self, window: int) -> None:
        """Ask a window to close, as a window manager's close button does (WM_DELETE_WINDOW)."""
        self._xlib.delete_window(window)

    def screenshot(self, path: Path) -> bool:
        """The whole screen as a PNG (needs ImageMagick's import); False when it is not there."""
        tool = shutil.which("import", path="/usr/bin") or shutil.which("import")
        if tool is None:
            return False
        env = {**os.environ, "DISPLAY": self.name}
        return subprocess.run([tool, "-window", "root", str(path)], env=env, timeout=30).returncode == 0


class _XClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _XClientMessage), ("pad", ctypes.c_long * 24)]


class _Xlib:
    """The one thing xdotool cannot do: send WM_DELETE_WINDOW (libX11 through ctypes)."""

    CLIENT_MESSAGE = 33

    def __init__(self, display: str) -> None:
        self.lib = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
        self.lib.XOpenDisplay.restype = ctypes.c_void_p
        self.lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.lib.XInternAtom.restype = ctypes.c_ulong
        self.lib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self.lib.XSendEvent.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulong,
            ctypes.c_int,
            ctypes.c_long,
            ctypes.POINTER(_XEvent),
        ]
        self.lib.XFlush.argtypes = [ctypes.c_void_p]
        self.lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.handle: int | None = None
        for _ in range(100):
            self.handle = self.lib.XOpenDisplay(display.encode())
            if self.handle:
                break
            time.sleep(0.05)
        if not self.handle:
            raise RuntimeError(f"cannot open the X display {display}")

    def delete_window(self, window: int) -> None:
        protocols = self.lib.XInternAtom(self.handle, b"WM_PROTOCOLS", 0)
        delete = self.lib.XInternAtom(self.handle, b"WM_DELETE_WINDOW", 0)
        event = _XEvent()
        event.xclient.type = self.CLIENT_MESSAGE
        event.xclient.window = window
        event.xclient.message_type = protocols
        event.xclient.format = 32
        event.xclient.data[0] = delete
        event.xclient.data[1] = 0  # CurrentTime
        self.lib.XSendEvent(self.handle, window, 0, 0, ctypes.byref(event))
        self.lib.XFlush(self.handle)

    def close(self) -> None:
        if self.handle:
            self.lib.XCloseDisplay(self.handle)
            self.handle = None


def user_config(folder: Path) -> Path:
    """A settings folder like a user's after a while: eight recent files (each a menu action).

    Returned as ``XDG_CONFIG_HOME``. The window keeps adding to it, as it does for a user;
    a full recent-files menu is part of what quitting has to tear down.
    """
    settings = folder / "visualconv" / "visualconv.conf"
    if not settings.exists():
        settings.parent.mkdir(parents=True, exist_ok=True)
        recent = sorted((ROOT / "sample_models").glob("*.json"))[:8]
        settings.write_text("[General]\nrecentFiles=" + ", ".join(str(p) for p in recent) + "\n", "utf-8")
    return folder


class App:
    """The window's process on a display, with its own data, settings and runtime folders.

    Parameters
    ----------
    display : Display
        Where it runs.
    model : Path
        The model file it opens.
    train : bool
        Start a training run as soon as the window shows (see ``xlaunch.py``).
    workdir : Path, optional
        Where its folders go (a new temporary folder by default).
    config : Path, optional
        Its settings folder (``XDG_CONFIG_HOME``), kept from run to run like a user's
        (default: a new one with eight recent files, :func:`user_config`).
    """

    def __init__(
        self,
        display: Display,
        model: Path,
        *,
        train: bool = False,
        workdir: Path | None = None,
        config: Path | None = None,
    ):
        self.display = display
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="visualconv-x-"))
        for name in ("data", "config", "runtime"):
            (self.workdir / name).mkdir(mode=0o700, parents=True, exist_ok=True)
        config = config or user_config(self.workdir / "config")
        env = {
            **os.environ,
            "DISPLAY": display.name,
            "QT_QPA_PLATFORM": "xcb",
            "VISUALCONV_DATA_DIR": str(self.workdir / "data"),
            "XDG_CONFIG_HOME": str(config),
            "XDG_RUNTIME_DIR": str(self.workdir / "runtime"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "PYTHONFAULTHANDLER": "1",
        }
        command = [sys.executable, str(LAUNCHER), str(model)]
        if train:
            command.append("--train")
        self.stderr_path = self.workdir / "stderr.txt"
        self._stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=self._stderr)
        self.window = 0

    @property
    def pid(self) -> int:
        """The window's process id."""
        return self.process.pid

    def wait_shown(self, timeout: float = 60.0) -> int:
        """Wait until the main window is visible; its X id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the window's process ended with {self.process.returncode}: {self.stderr()}"
                )
            windows = self.display.windows_of(self.pid)
            big = [w for w in windows if (g := self.display.geometry(w)) is not None and g.width > 600]
            if big:
                self.window = big[0]
                return self.window
            time.sleep(0.1)
        raise TimeoutError("the window did not show")

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None

    def wait(self, timeout: float = 60.0) -> int | None:
        """Wait for the process to end; its exit status (negative: killed by that signal; None: timed out)."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._stderr.close()
        return code

    def kill(self) -> None:
        """End the process (after a failure)."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self._stderr.close()

    def stderr(self) -> str:
        """What the process wrote to stderr so far."""
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text("utf-8", errors="replace")

    def hook_records(self) -> int:
        """How many exceptions reached the window's exception hook (entries of its log)."""
        log = self.workdir / "data" / "visualconv.log"
        if not log.exists():
            return 0
        return sum(
            1 for line in log.read_text("utf-8", errors="replace").splitlines() if line.startswith("--- ")
        )

    def log_text(self) -> str:
        """The exception hook's log ("" when nothing reached it)."""
        log = self.workdir / "data" / "visualconv.log"
        return log.read_text("utf-8", errors="replace") if log.exists() else ""


def new_popup(display: Display, before: set[int], timeout: float = 3.0) -> tuple[int, Rect] | None:
    """The window that became visible since ``before`` (a menu or a dialog), with its place."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for window in display.visible():
            if window not in before:
                rect = display.geometry(window)
                if rect is not None and rect.width > 1 and rect.height > 1:
                    return window, rect
        time.sleep(0.05)
    return None


def wait_gone(display: Display, window: int, timeout: float = 3.0) -> bool:
    """Wait until a window is no longer visible."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if window not in display.visible():
            return True
        time.sleep(0.05)
    return False
