"""A monkey with a real mouse and keyboard: seeded X events through the whole window.

Clicks and drags anywhere on the window (panels, docks, buttons, sliders, the layer
list), wheel turns, the stepper's keys, typing, undo and redo, menus opened with the
mouse and an item clicked in them, every View entry toggled from its menu, and
File ▸ Quit clicked with the mouse every few hundred events (then the window starts
again). Dialogs are handled as a careful user would: a file dialog is closed at once
(nothing is ever saved over a shipped sample), a message box gets a click on one of
its buttons or is closed.

It counts what went wrong: exceptions that reached the window's exception hook (its
log), and deaths (the process ended without being asked to, or quitting did not exit
with status 0).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from xdriver import ROOT, App, Display, Rect, new_popup, user_config, wait_gone
from xquit import MENU_BAR_Y, QUIT_FROM_BOTTOM

MODELS = [
    ROOT / "sample_models" / name
    for name in (
        "01-seed-1d-conv.json",
        "02-seed-2d-conv.json",
        "05-max-pool-backward.json",
        "09-stride-padding.json",
        "12-small-cnn-cross-entropy.json",
        "20-learning-a-kernel.json",
    )
]
MENU_X = {"file": 18, "edit": 55, "step": 96, "view": 138, "help": 181}
KEYS = [
    "Right", "Right", "Right", "Left", "Home", "End", "space", "f", "b", "Tab", "shift+Tab",
    "ctrl+z", "ctrl+shift+z", "ctrl+y", "Up", "Down", "Return", "Escape", "Delete", "BackSpace",
    "1", "0", "minus", "period", "a", "ctrl+c", "ctrl+v", "Page_Up", "Page_Down",
]  # fmt: skip
TEXTS = ["1.5", "-2", "0", "abc", "1e9", "nan", "3", " ", "0.25"]
FILE_DIALOG_WORDS = ("open", "save", "export", "folder", "directory", "lecture pack")
FILE_DIALOG_HEIGHT = 250  # a file dialog is tall; a message box ("Unsaved changes") is not
VIEW_ENTRIES = 8  # Fixed colour scale, Show numbers, the docks (Layers, Editor, ...), Clear highlights


TRACE = bool(os.environ.get("VISUALCONV_MONKEY_TRACE"))


def trace(*words: object) -> None:
    """One line on stderr when VISUALCONV_MONKEY_TRACE is set (for finding what a run did)."""
    if TRACE:
        print(f"{time.monotonic():10.2f}", *words, file=sys.stderr, flush=True)


def fingerprint(folder: Path) -> dict[str, str]:
    """A hash of every file in a folder (the shipped samples must never change)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*"))}


@dataclass
class Tally:
    """What the monkey did and what went wrong."""

    events: int = 0
    starts: int = 0
    quits: int = 0
    view_toggles: int = 0
    menus: int = 0
    dialogs: int = 0
    exceptions: int = 0
    deaths: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for a person."""
        return (
            f"{self.events} X events, {self.starts} starts, {self.quits} quits by File > Quit (mouse), "
            f"{self.menus} menu items clicked, {self.view_toggles} View toggles, {self.dialogs} dialogs; "
            f"{self.exceptions} exceptions reached the hook, {self.deaths} deaths"
        )


class Monkey:
    """Seeded real input for one display; restarts the window after each quit."""

    def __init__(self, display: Display, seed: int, workdir: Path | None = None) -> None:
        self.display = display
        self.rng = random.Random(seed)
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="visualconv-monkey-"))
        self.config = user_config(self.workdir / "config")
        self.tally = Tally()
        self.app: App | None = None
        self.rect = Rect(0, 0, 1, 1)
        self._run = 0

    # ------------------------------------------------------------ the window's process

    def start(self) -> None:
        """Start the window on a copy of a sample model."""
        self._run += 1
        folder = self.workdir / f"run{self._run}"
        folder.mkdir(parents=True, exist_ok=True)
        model = folder / self.rng.choice(MODELS).name
        shutil.copyfile(ROOT / "sample_models" / model.name, model)
        self.app = App(self.display, model, workdir=folder, config=self.config)
        window = self.app.wait_shown()
        self.rect = self.display.geometry(window) or self.rect
        self.tally.starts += 1
        self.settle(0.3)

    def finish_run(self, expected_exit: bool) -> None:
        """Count this process's exceptions; a process that ended unasked is a death."""
        app = self.app
        assert app is not None
        code = app.wait(30) if expected_exit else app.process.poll()
        self.tally.exceptions += app.hook_records()
        if app.hook_records():
            self.tally.problems.append(app.log_text()[-1500:])
        if expected_exit and code != 0:
            self.tally.deaths += 1
            self.tally.problems.append(f"quit ended with {code}: {app.stderr()[-1500:]}")
        elif not expected_exit and code is not None:
            self.tally.deaths += 1
            self.tally.problems.append(f"the window died ({code}): {app.stderr()[-1500:]}")
        app.kill()
        self.app = None

    def alive(self) -> bool:
        """Whether the window's process still runs (a death is counted when it does not)."""
        assert self.app is not None
        if self.app.alive():
            return True
        self.finish_run(expected_exit=False)
        return False

    def settle(self, seconds: float = 0.03) -> None:
        """Let the window handle what it was sent."""
        time.sleep(seconds)

    # ------------------------------------------------------------ dialogs and popups

    def others(self) -> list[tuple[int, Rect]]:
        """Visible windows of the process besides the main window (menus, dialogs)."""
        assert self.app is not None
        found = []
        for window in self.display.windows_of(self.app.pid):
            if window == self.app.window:
                continue
            rect = self.display.geometry(window)
            if rect is not None and rect.width > 1:
                found.append((window, rect))
        return found

    def tidy(self) -> None:
        """Close file dialogs at once; answer message boxes; leave menus to the next event."""
        for _ in range(6):
            others = self.others()
            # Menus hang from the menu bar; tooltips are short; the rest are dialogs.
            dialogs = [
                (w, r) for w, r in others if r.height >= 60 and (r.y > MENU_BAR_Y + 20 or r.width > 420)
            ]
            if not dialogs:
                return
            window, rect = dialogs[-1]
            title = self.display.name_of(window).lower()
            self.tally.dialogs += 1
            # By title and size: "Unsaved changes" has "save" in it too, and closing it is Cancel.
            if any(word in title for word in FILE_DIALOG_WORDS) and rect.height > FILE_DIALOG_HEIGHT:
                trace("dialog", repr(title), rect, "close (file dialog)")
                self.display.close_window(window)  # never type into a file dialog
            elif self.rng.random() < 0.6:
                # a message box: click somewhere along its button row
                x = rect.x + self.rng.randint(10, rect.width - 10)
                trace("dialog", repr(title), rect, "click at", x - rect.x)
                self.display.click(x, rect.y + rect.height - 20)
                self.tally.events += 1
            else:
                trace("dialog", repr(title), rect, "close")
                self.display.close_window(window)
            gone = wait_gone(self.display, window, 1.0)
            running = self.app is not None and self.app.alive()
            trace("  gone" if gone else "  still there", "alive" if running else "ended")

    # ------------------------------------------------------------ events

    def point(self) -> tuple[int, int]:
        """A random point of the main window below its menu bar."""
        r = self.rect
        return self.rng.randint(r.x + 2, r.x + r.width - 3), self.rng.randint(r.y + 22, r.y + r.height - 3)

    def click(self) -> None:
        button = self.rng.choices([1, 3, 4, 5], [80, 4, 8, 8])[0]
        x, y = self.point()
        self.display.click(x, y, button)
        self.tally.events += 1
        if button == 3:  # a context menu may open: leave it with Escape
            self.settle(0.1)
            self.display.key("Escape")
            self.tally.events += 1

    def double_click(self) -> None:
        x, y = self.point()
        self.display.xdotool("mousemove", x, y, "click", "--repeat", 2, "--delay", 60, 1)
        self.tally.events += 1
        self.settle(0.05)
        if self.rng.random() < 0.7:
            self.display.type_text(self.rng.choice(TEXTS))
            self.display.key(self.rng.choice(["Return", "Escape", "Tab"]))
            self.tally.events += 2

    def drag(self) -> None:
        start = self.point()
        end = (
            min(
                max(start[0] + self.rng.randint(-300, 300), self.rect.x + 2),
                self.rect.x + self.rect.width - 3,
            ),
            min(
                max(start[1] + self.rng.randint(-120, 120), self.rect.y + 22),
                self.rect.y + self.rect.height - 3,
            ),
        )
        self.display.drag(start, end)
        self.tally.events += 1

    def hover(self) -> None:
        self.display.move(*self.point())
        self.tally.events += 1

    def key(self) -> None:
        assert self.app is not None
        self.display.focus(self.app.window)
        self.display.key(self.rng.choice(KEYS))
        self.tally.events += 1

    def menu_item(self) -> None:
        """Open a menu with the mouse and click one of its items (never Quit here)."""
        name = self.rng.choice(sorted(MENU_X))
        before = set(self.display.visible())
        self.display.click(MENU_X[name], MENU_BAR_Y)
        self.tally.events += 1
        popup = new_popup(self.display, before, 2.0)
        if popup is None:
            return
        window, rect = popup
        self.settle(0.1)
        lowest = rect.height - (QUIT_FROM_BOTTOM + 14 if name == "file" else 6)
        if lowest <= 8 or self.rng.random() < 0.1:
            self.display.key("Escape")  # looked, changed its mind
        else:
            self.display.click(
                rect.x + self.rng.randint(10, max(11, rect.width - 10)), rect.y + self.rng.randint(6, lowest)
            )
            self.tally.menus += 1
        self.tally.events += 1
        self.settle(0.15)
        for extra, _ in self.others():  # a submenu opened: close it
            if (
                extra != window
                and self.display.geometry(extra) is not None
                and extra in self.display.visible()
            ):
                self.display.key("Escape")
                self.tally.events += 1
                break

    def view_toggle(self, entry: int | None = None) -> None:
        """Open View with the mouse and switch one of its entries (Down k times, Return)."""
        entry = self.rng.randrange(VIEW_ENTRIES) if entry is None else entry
        before = set(self.display.visible())
        self.display.click(MENU_X["view"], MENU_BAR_Y)
        self.tally.events += 1
        popup = new_popup(self.display, before, 2.0)
        if popup is None:
            return
        self.settle(0.1)
        self.display.key(*(["Down"] * (entry + 1)), "Return")
        self.tally.events += entry + 2
        self.tally.view_toggles += 1
        self.settle(0.15)

    def toggle_every_view_entry(self) -> None:
        """Switch every View entry once, from its menu, then step and change pass with the keys."""
        for entry in range(VIEW_ENTRIES):
            self.view_toggle(entry)
            assert self.app is not None
            self.display.focus(self.app.window)
            self.display.key(self.rng.choice(["b", "f"]), "Right", "End")
            self.tally.events += 3
            self.tidy()

    def quit_by_menu(self) -> None:
        """File ▸ Quit with the mouse; answer what it asks until the process ends."""
        assert self.app is not None
        before = set(self.display.visible())
        self.display.click(MENU_X["file"], MENU_BAR_Y)
        self.tally.events += 1
        popup = new_popup(self.display, before, 2.0)
        if popup is None:
            return
        _, rect = popup
        self.settle(0.15)
        self.display.click(rect.x + 30, rect.y + rect.height - QUIT_FROM_BOTTOM)
        self.tally.events += 1
        trace("quit clicked; menu was", rect)
        # The unsaved-changes box is answered at random (most clicks on its button row miss the
        # buttons and 40 % close it, which is Cancel), so a quit can take many rounds.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.app.alive():
            self.settle(0.3)
            self.tidy()  # Save / Discard / Cancel, a Save As dialog: clicks until it is gone
            if not self.app.alive():
                break
            if not self.others():
                trace("nothing open; quit again")
                # Cancelled (or nothing was asked yet): ask again. The menu is the window that was not
                # there before this click (an empty "before" would take the main window for the menu
                # and click its status bar instead of Quit).
                before = set(self.display.visible())
                self.display.click(MENU_X["file"], MENU_BAR_Y)
                popup = new_popup(self.display, before, 1.0)
                if popup is not None:
                    _, rect = popup
                    self.settle(0.15)
                    self.display.click(rect.x + 30, rect.y + rect.height - QUIT_FROM_BOTTOM)
                self.tally.events += 2
        if self.app.alive():
            trace(
                "still alive; windows:",
                [
                    (w, self.display.name_of(w), self.display.geometry(w))
                    for w in self.display.windows_of(self.app.pid)
                ],
            )
            if TRACE:
                self.display.screenshot(self.workdir / f"alive-{self._run}.png")
                trace("screenshot", self.workdir / f"alive-{self._run}.png")
        self.tally.quits += 1
        self.finish_run(expected_exit=True)

    # ------------------------------------------------------------ the run

    def run(self, events: int, quit_every: int = 400) -> Tally:
        """Send about ``events`` events; returns the tally."""
        samples = fingerprint(ROOT / "sample_models")
        actions = [
            (self.click, 40),
            (self.double_click, 6),
            (self.drag, 8),
            (self.hover, 8),
            (self.key, 30),
            (self.menu_item, 5),
            (self.view_toggle, 4),
        ]
        functions, weights = zip(*actions, strict=True)
        next_quit = quit_every
        try:
            self.start()
            self.toggle_every_view_entry()  # the rest of the run meets the other state
            flipped_back = False
            while self.tally.events < events:
                if not flipped_back and self.tally.events >= events // 2 and self.app is not None:
                    self.toggle_every_view_entry()
                    flipped_back = True
                if self.app is None:
                    self.start()
                self.rng.choices(functions, weights)[0]()
                self.settle()
                self.tidy()
                if not self.alive():
                    continue
                if self.tally.events >= next_quit:
                    next_quit += quit_every
                    self.quit_by_menu()
            if self.app is not None:
                self.quit_by_menu()
        finally:
            if self.app is not None:
                self.finish_run(expected_exit=False)
        if fingerprint(ROOT / "sample_models") != samples:
            self.tally.problems.append("a shipped sample model changed")
        return self.tally
