"""One quit of the real window, three ways, and what became of the process.

``menu``: File ▸ Quit clicked with the mouse. ``ctrl-q-training``: Ctrl+Q while a
training run is running, the question about the trained weights answered with Save
(Enter): the model file must then hold the trained weights. ``close``: the close
button (WM_DELETE_WINDOW). A run is ``clean`` when the process exits 0 within the
time, no exception reached its hook and nothing is left to ask.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from xdriver import ROOT, App, Display, new_popup, wait_gone

MENU_BAR_Y = 9
FILE_MENU_X = 18
QUIT_FROM_BOTTOM = 12  # Quit is the File menu's last item

STILL = ROOT / "sample_models" / "02-seed-2d-conv.json"
TRAINED = ROOT / "sample_models" / "22-shapes-classifier.json"


@dataclass(frozen=True)
class Outcome:
    """What one quit did: ``clean``, ``crash`` (a signal), ``hung``, ``error`` or ``unsaved``."""

    kind: str
    detail: str = ""


def click_file_quit(display: Display) -> bool:
    """Open File with the mouse and click its last item, Quit; False when no menu opened."""
    before = set(display.visible())
    display.click(FILE_MENU_X, MENU_BAR_Y)
    popup = new_popup(display, before)
    if popup is None:
        return False
    _, rect = popup
    time.sleep(0.15)  # the popup takes the pointer grab once it is mapped
    display.click(rect.x + 30, rect.y + rect.height - QUIT_FROM_BOTTOM)
    return True


def weights(path: Path) -> list[object]:
    """Every layer's weight in a model file."""
    return [layer.get("weight") for layer in json.loads(path.read_text("utf-8"))["layers"]]


def quit_once(display: Display, way: str, workdir: Path | None = None, config: Path | None = None) -> Outcome:
    """Start the window, quit it ``way``, and classify how its process ended.

    ``config`` is the settings folder kept between runs (see :func:`xdriver.user_config`).
    """
    workdir = Path(workdir or tempfile.mkdtemp(prefix="visualconv-quit-"))
    workdir.mkdir(parents=True, exist_ok=True)
    training = way == "ctrl-q-training"
    model = workdir / (TRAINED if training else STILL).name
    shutil.copyfile(TRAINED if training else STILL, model)
    app = App(display, model, train=training, workdir=workdir, config=config)
    try:
        window = app.wait_shown()
        time.sleep(0.5)
        if way == "menu":
            if not click_file_quit(display):
                return Outcome("error", "File menu did not open")
        elif way == "close":
            display.close_window(window)
        elif training:
            time.sleep(1.5)  # let the run get going
            display.focus(window)
            before = set(display.visible())
            display.key("ctrl+q")
            asked = new_popup(display, before, timeout=10.0)
            if asked is None:
                code = app.wait(5)
                return Outcome(
                    "unsaved" if code == 0 else ("crash" if code is not None and code < 0 else "error"),
                    f"quit without asking about the trained weights (exit {code})",
                )
            dialog, _ = asked
            display.focus(dialog)
            display.key("Return")  # Save
            wait_gone(display, dialog)
        code = app.wait(30)
        if code is None:
            return Outcome("hung", app.stderr()[-500:])
        if code < 0:
            return Outcome("crash", f"signal {-code}: {app.stderr()[-800:]}")
        if code != 0:
            return Outcome("error", f"exit {code}: {app.stderr()[-800:]}")
        if app.hook_records():
            return Outcome("error", app.log_text()[-800:])
        if training and weights(model) == weights(TRAINED):
            return Outcome("unsaved", "the file still has the untrained weights")
        return Outcome("clean")
    finally:
        app.kill()
        shutil.rmtree(workdir, ignore_errors=True)


WAYS = {"menu", "ctrl-q-training", "close"}
