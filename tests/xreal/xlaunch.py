"""Start the window exactly as ``visualconv FILE`` does (for the real-X tests).

``--train``: once the window shows, a long training run starts in its Training panel
(as if Start had been clicked), so a quit can meet a running worker thread. The rest,
quitting included, is the real program: ``visualconv.cli.main``.
"""

from __future__ import annotations

import sys


def _train_when_shown() -> None:
    from PyQt6.QtCore import QTimer

    from visualconv.app.main_window import MainWindow

    show = MainWindow.show

    def show_and_train(window: MainWindow) -> None:
        show(window)

        def start() -> None:
            panel = window.training_panel
            window.training_dock.show()
            panel.epochs.setValue(panel.epochs.maximum())
            panel.start()
            print(f"training: {panel.state}", file=sys.stderr, flush=True)

        QTimer.singleShot(300, start)

    MainWindow.show = show_and_train  # type: ignore[method-assign]


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--train" in args:
        args.remove("--train")
        _train_when_shown()
    from visualconv import cli

    raise SystemExit(cli.main(args))
