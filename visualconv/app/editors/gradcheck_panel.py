"""The gradient check panel: finite differences beside the analytic gradients.

The check runs on the window's one kind of background worker
(:class:`~visualconv.app.worker.Worker`, fed by the engine's ``iter_check`` through
:func:`check_work`), so the window stays responsive and a progress bar shows how far a
larger model has got; a new model cancels a check that is still running. Points where the
model is not differentiable (relu at 0, max-pool ties) are named, because there
finite differences and the analytic gradient may legitimately disagree.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Generator, Iterator

from PyQt6.QtCore import QSignalBlocker, Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt6.QtGui import QColor, QShowEvent
from PyQt6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...engine.errors import ModelError, said
from ...engine.gradcheck import TOLERANCE, CheckResult, TensorCheck
from ...engine.gradcheck import iter_check as engine_iter_check
from ...engine.model import Model
from ...engine.scene import TileMap, max_abs
from ...i18n import _, ngettext
from ..session import Session
from ..widgets.tensor_panel import TensorPanel
from ..worker import Progress, Worker, drain, owned

# Models whose check needs at most this many cells run after every edit.
AUTO_CELLS = 2000
# Tensors with more cells are checked on a seeded sample of this many.
MAX_CELLS = 4096
PROGRESS_SECONDS = 0.03
"""A check reports its progress at most this often (seconds)."""


def check_cells(model: Model, max_cells: int = MAX_CELLS) -> int:
    """How many cells a check perturbs (each costs two forward passes)."""
    sizes = [model.input.size, *(a.size for p in model.parameters() for a in p.values())]
    return int(sum(min(size, max_cells) for size in sizes))


def iter_check(model: Model, max_cells: int = MAX_CELLS) -> Iterator[tuple[int, int] | CheckResult]:
    """The engine's check (:func:`visualconv.engine.gradcheck.iter_check`) with the window's sample size."""
    return engine_iter_check(model, max_cells=max_cells)


def check_work(model: Model, max_cells: int = MAX_CELLS) -> Generator[Progress, None, CheckResult | None]:
    """:func:`iter_check` as work for a :class:`~visualconv.app.worker.Worker`.

    Yields :class:`~visualconv.app.worker.Progress` in cells (at most one every
    ``PROGRESS_SECONDS``, and the last), returns the :class:`CheckResult`.
    """
    shown = 0.0
    for item in iter_check(model, max_cells):
        if isinstance(item, CheckResult):
            return item
        done, total = item
        now = time.perf_counter()
        if now - shown >= PROGRESS_SECONDS or done == total:
            shown = now
            yield Progress(done, total)
    return None


def verdict(result: CheckResult) -> str:
    """One line saying whether the analytic gradients agree with finite differences."""
    worst = max(result.tensors, key=lambda t: t.max_error)
    if result.ok:
        return "✓ " + _(
            "All {n} gradients agree with finite differences "
            "(largest relative error {error}, tolerance {tolerance})"
        ).format(n=len(result.tensors), error=f"{worst.max_error:.1e}", tolerance=f"{TOLERANCE:.0e}")
    bad = [t.name for t in result.tensors if not t.ok]
    text = "✗ " + ngettext(
        "{names} differs from finite differences (largest relative error {error} in {worst})",
        "{names} differ from finite differences (largest relative error {error} in {worst})",
        len(bad),
    ).format(names=", ".join(bad), error=f"{worst.max_error:.2g}", worst=worst.name)
    if result.kinks:
        text += "; " + _("the model sits on non-differentiable points (below), where this can be expected")
    return text


def _small_panel(name: str) -> TensorPanel:
    panel = TensorPanel(name)
    panel.colorbar.hide()
    panel.setMinimumHeight(110)
    return panel


class GradcheckPanel(QWidget):
    """Finite differences against the analytic gradients of the session's model.

    Signals
    -------
    sigCheckFinished(object)
        A check completed; the argument is the :class:`CheckResult` (None when refused).
    """

    sigCheckFinished = pyqtSignal(object)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gradcheckPanel")
        self.session = session
        self.result: CheckResult | None = None
        self._worker: Worker | None = None  # the current check's; what older workers send is dropped
        self._workers: list[Worker] = []  # every worker whose thread may still run
        self._stale = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.run_button = QPushButton(_("Check gradients"))
        self.run_button.setToolTip(_("Central differences (step 1e-6) for every cell of every tensor"))
        self.auto = QCheckBox(_("after every edit"))
        self.auto.setToolTip(
            _("Check again after each edit when the model has at most {n} values").format(n=AUTO_CELLS)
        )
        self.auto.setChecked(True)
        top.addWidget(self.run_button)
        top.addWidget(self.auto)
        top.addStretch(1)
        layout.addLayout(top)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.verdict = QLabel("")
        self.verdict.setObjectName("gradcheckVerdict")
        self.verdict.setWordWrap(True)
        layout.addWidget(self.verdict)
        self.kinks = QLabel("")
        self.kinks.setWordWrap(True)
        self.kinks.setStyleSheet("color: #92400e; background: #fef3c7; padding: 3px;")
        self.kinks.hide()
        layout.addWidget(self.kinks)
        self.table = QTreeWidget()
        self.table.setHeaderLabels([_("tensor"), _("shape"), _("max rel. error"), ""])
        self.table.setRootIsDecorated(False)
        self.table.setMaximumHeight(130)
        header = self.table.header()
        assert header is not None
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table)
        maps = QGridLayout()
        maps.setSpacing(4)
        self.analytic_panel = _small_panel("analytic")
        self.numeric_panel = _small_panel("numeric")
        self.error_panel = _small_panel("error")
        maps.addWidget(self.analytic_panel, 0, 0)
        maps.addWidget(self.numeric_panel, 0, 1)
        maps.addWidget(self.error_panel, 1, 0, 1, 2)
        layout.addLayout(maps, 1)
        self.run_button.clicked.connect(self.start)
        self.table.currentItemChanged.connect(self._on_table_current_changed)
        session.sigModelChanged.connect(self._on_session_model_changed)

    # ------------------------------------------------------------ running

    @property
    def running(self) -> bool:
        """Whether a check is under way."""
        return self._worker is not None

    def _checkable(self) -> Model | None:
        """The session's model when it has gradients to check (else the refusal is shown)."""
        model = self.session.model
        if model is None:
            return None
        if not model.has_backward:
            self._finish_refused(
                _("This model has no upstream deltas and no target: there are no gradients to check.")
            )
            return None
        self._stale = False
        return model

    def start(self) -> None:
        """Check the session's model on a worker (cancels a check that is running)."""
        self.cancel()
        model = self._checkable()
        if model is None:
            return
        cells = check_cells(model)
        self.progress.setRange(0, cells)
        self.progress.setValue(0)
        self.progress.setFormat(_("checking {done} of {n} cells…").format(done="%v", n=cells))
        self.progress.setVisible(cells > 200)
        self.run_button.setText(_("Restart check"))
        worker = owned(Worker(functools.partial(check_work, model), name="visualconv-gradcheck"), self)
        worker.sigProgress.connect(self._on_worker_progress)
        worker.sigReturned.connect(self._on_worker_returned)
        worker.sigErrored.connect(self._on_worker_errored)
        worker.sigFinished.connect(self._on_worker_finished)
        self._worker = worker
        self._workers.append(worker)
        worker.start()

    def cancel(self) -> None:
        """Stop a running check (its worker ends at its next item; what it still sends is dropped)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
        self.progress.hide()
        self.run_button.setText(_("Check gradients"))

    def shutdown(self) -> None:
        """Cancel the check and join every worker thread (before the window goes)."""
        self.cancel()
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()

    def run_now(self) -> CheckResult | None:
        """Check to the end on this thread, without the event loop (tests, small models)."""
        self.cancel()
        model = self._checkable()
        if model is None:
            return self.result
        try:
            _last, result = drain(functools.partial(check_work, model))
        except (ModelError, ValueError, FloatingPointError) as exc:
            self._finish_refused(_("The check stopped: {reason}").format(reason=said(exc)))
            return None
        if result is not None:
            self.show_result(result)
        return self.result

    def _current(self) -> bool:
        """Whether the signal being handled comes from the current check's worker."""
        return self._worker is not None and self.sender() is self._worker

    @pyqtSlot(int, int)
    def _on_worker_progress(self, done: int, total: int) -> None:
        if self._current():
            self.progress.setValue(done)

    @pyqtSlot(object)
    def _on_worker_returned(self, result: object) -> None:
        if not self._current():
            return
        self.cancel()
        if isinstance(result, CheckResult):
            self.show_result(result)

    @pyqtSlot(object)
    def _on_worker_errored(self, exc: object) -> None:
        if not self._current():
            return
        self.cancel()
        if isinstance(exc, (ModelError, ValueError, FloatingPointError)):
            self._finish_refused(_("The check stopped: {reason}").format(reason=said(exc)))
        elif isinstance(exc, BaseException):
            raise exc  # a fault: the window's exception hook shows it

    @pyqtSlot()
    def _on_worker_finished(self) -> None:
        """A worker's last signal: it is no longer this panel's."""
        worker = self.sender()
        if isinstance(worker, Worker) and worker in self._workers:
            self._workers.remove(worker)  # the keeper joins and deletes it

    def _finish_refused(self, text: str) -> None:
        self.result = None
        self.table.clear()
        self.verdict.setText(text)
        self.verdict.setStyleSheet("")
        self.kinks.hide()
        for panel in (self.analytic_panel, self.numeric_panel, self.error_panel):
            panel.hide()
        self.sigCheckFinished.emit(None)

    def _on_session_model_changed(self, model: Model) -> None:
        self.cancel()
        self._stale = True
        if self.auto.isChecked() and self.isVisible() and check_cells(model) <= AUTO_CELLS:
            self.start()
        elif self.result is not None:
            self.verdict.setText(
                self.verdict.text().split("\n")[0] + "\n" + _("(the model changed: check again)")
            )

    def showEvent(self, event: QShowEvent | None) -> None:  # noqa: D102 - Qt API
        super().showEvent(event)
        model = self.session.model
        if self._stale and self.auto.isChecked() and model is not None and check_cells(model) <= AUTO_CELLS:
            self._stale = False
            QTimer.singleShot(0, self.start)

    # ------------------------------------------------------------ showing

    def show_result(self, result: CheckResult) -> None:
        """Show a finished check: verdict, kinks, one row per tensor and the selected tensor's maps."""
        self.result = result
        self.verdict.setText(verdict(result))
        self.verdict.setStyleSheet(f"font-weight: 600; color: {'#047857' if result.ok else '#b91c1c'};")
        if result.kinks:
            self.kinks.setText(
                _("Non-differentiable points (finite differences straddle them and may disagree):")
                + "\n• "
                + "\n• ".join(result.kinks)
            )
        self.kinks.setVisible(bool(result.kinks))
        current = self.table.currentItem()
        keep = current.data(0, Qt.ItemDataRole.UserRole) if current is not None else ""
        with QSignalBlocker(self.table):
            self.table.clear()
            for check in result.tensors:
                item = QTreeWidgetItem(
                    [
                        check.name
                        + ("  " + _("({n} sampled)").format(n=check.checked) if check.sampled else ""),
                        str(tuple(check.analytic.shape)),
                        f"{check.max_error:.1e}",
                        "✓" if check.ok else "✗",
                    ]
                )
                item.setData(0, Qt.ItemDataRole.UserRole, check.name)
                item.setForeground(3, QColor("#047857" if check.ok else "#b91c1c"))
                self.table.addTopLevelItem(item)
        names = [t.name for t in result.tensors]
        worst = max(range(len(names)), key=lambda i: result.tensors[i].max_error)
        row = names.index(keep) if keep in names else worst
        self.table.setCurrentItem(self.table.topLevelItem(row))
        self._show_tensor(result.tensors[row])
        self.sigCheckFinished.emit(result)

    def set_palette(self, key: str) -> None:
        """The analytic and finite-difference maps in palette ``key`` (View ▸ Palette).

        The error map keeps red–blue: its legend reads white (agreement) to red.
        """
        for panel in (self.analytic_panel, self.numeric_panel):
            panel.set_palette(key)
        current = self.table.currentItem()
        if current is not None and self.result is not None:
            self._on_table_current_changed(current, None)

    def _on_table_current_changed(self, current: QTreeWidgetItem | None, previous: object) -> None:
        if current is None or self.result is None:
            return
        name = current.data(0, Qt.ItemDataRole.UserRole)
        check = next((t for t in self.result.tensors if t.name == name), None)
        if check is not None:
            self._show_tensor(check)

    def _show_tensor(self, check: TensorCheck) -> None:
        tiles = TileMap(tuple(int(s) for s in check.analytic.shape))
        level = max(max_abs(check.analytic), max_abs(check.numeric))
        for panel, title, values, lvl in (
            (
                self.analytic_panel,
                _("analytic {derivative}").format(derivative=f"d/d{check.name}"),
                check.analytic,
                level,
            ),
            (self.numeric_panel, _("finite differences"), check.numeric, level),
            (
                self.error_panel,
                _("relative error per cell (white ≤ {tolerance}; red: disagreement)").format(
                    tolerance=f"{TOLERANCE:.0e}"
                ),
                check.relative_error,
                max(check.max_error, TOLERANCE),
            ),
        ):
            panel.show()
            panel.configure(
                title, tiles.count, tiles.tile_shape, grid=tiles.grid, index_text=tiles.index_text
            )
            panel.set_values(tiles.tiles(values), lvl if math.isfinite(lvl) else 1.0)
