"""The closed-form view: the stepped accumulation beside the seeds' closed forms.

For a conv layer's backward pass, the left column shows dW and dA_prev as the
overlays have summed them so far; the right column shows the closed forms of the
seed documents and their intermediate arrays: dZ dilated with zeros for the stride,
dZ padded for the full convolution, the kernel turned by 180 degrees, then
dW = A_prev ⋆ dZ and dA_prev = rot180(W) full-convolved with dZ. At the last overlay
both columns hold the same numbers. A third column is the link to transposed convolutions:
beside the closed-form dA_prev, conv_transpose(dZ, W) with the layer's stride, padding and
dilation, computed by the transposed-convolution kernel: the same numbers.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QTimer, pyqtSlot
from PyQt6.QtGui import QShowEvent
from PyQt6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from ...engine.explain import closed_form_lines
from ...engine.scene import TileMap, max_abs
from ...engine.trace import ClosedForm, LayerTrace
from ...i18n import N_, _
from ..session import Session
from ..widgets.tensor_panel import TensorPanel

NO_CLOSED_FORM = N_(
    "The closed forms belong to a conv layer's backward pass: select a conv layer in the Layers list "
    "and the Backward pass."
)


class ClosedFormView(QWidget):
    """Stepped sums (left) against the closed forms and their intermediate arrays (right)."""

    ROLES = (
        ("dz_dilated", 1, 0),
        ("dz_full", 1, 1),
        ("kernel", 2, 0),
        ("rotated", 2, 1),
        ("dw_stepped", 4, 0),
        ("dw_closed", 4, 1),
        ("dx_stepped", 5, 0),
        ("dx_closed", 5, 1),
        ("dx_transposed", 5, 2),
    )

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("closedFormView")
        self.session = session
        self.closed: ClosedForm | None = None
        self._trace: LayerTrace | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.heading = QLabel("")
        self.heading.setObjectName("panelTitle")
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        columns = QGridLayout()
        columns.setSpacing(4)
        for text, row, col, span in (
            (_("what the closed forms are made of"), 0, 0, 2),
            (_("step by step"), 3, 0, 1),
            (_("closed form"), 3, 1, 1),
            (_("the same, as a transposed convolution"), 3, 2, 1),
        ):
            label = QLabel(text)
            label.setObjectName("muted")
            columns.addWidget(label, row, col, 1, span)
        # The panels are made when the view is first shown with a closed form (_make_panels):
        # the window starts with this tab hidden, and nine panels cost its launch 20-30 ms.
        self.panels: dict[str, TensorPanel] = {}
        self._columns = columns
        for _role, row, _col in self.ROLES:
            columns.setRowStretch(row, 1)
        self.grid_widget = QWidget()
        self.grid_widget.setLayout(columns)
        layout.addWidget(self.grid_widget, 1)
        self.verdict = QLabel("")
        self.verdict.setObjectName("closedFormVerdict")
        self.verdict.setWordWrap(True)
        layout.addWidget(self.verdict)
        session.sigTraceChanged.connect(self._on_session_trace_changed)
        session.sigStepChanged.connect(self._on_session_step_changed)
        self._on_session_trace_changed(session.trace)

    def showEvent(self, event: QShowEvent | None) -> None:  # noqa: D102 - Qt API
        super().showEvent(event)
        self.refresh()

    def _on_session_trace_changed(self, trace: LayerTrace | None) -> None:
        self._trace = trace
        self.closed = None
        ok = trace is not None and trace.kind.has_closed_form and trace.pass_name == "backward"
        self.grid_widget.setVisible(ok)
        self.verdict.setVisible(ok)
        if not ok:
            self.heading.setText(_(NO_CLOSED_FORM))
            return
        self.refresh()  # computed when shown: a hidden view costs nothing on large layers

    def _make_panels(self) -> None:
        """The stepped and closed-form panels, once."""
        if self.panels:
            return
        for role, row, col in self.ROLES:
            panel = TensorPanel(role)
            panel.colorbar.hide()
            panel.setMinimumHeight(90)
            self._columns.addWidget(panel, row, col)
            self.panels[role] = panel

    def _configure(self, trace: LayerTrace, cf: ClosedForm) -> None:
        self._make_panels()
        layer = trace.layer
        one_d = layer.dims == 1
        stride = layer.stride[1] if one_d or layer.stride[0] == layer.stride[1] else layer.stride
        dilation = max(layer.stride) > 1
        padded = "A_pad" if any(layer.padding) else "A_prev"
        titles = {
            "dz_dilated": (
                _("dZ, dilated"),
                _("zeros between (stride {stride})").format(stride=stride)
                if dilation
                else _("stride 1: as it is"),
                cf.dz_dilated,
            ),
            "dz_full": (_("dZ, padded"), _("for the full conv."), cf.dz_full_padded),
            "kernel": ("W", "", trace.weight),
            "rotated": ("rot180(W)", _("turned by 180°"), cf.kernel_rotated),
            "dw_stepped": (_("dW so far"), "", cf.dw),
            "dw_closed": (f"dW = {padded} ⋆ dZ", _("valid correlation"), cf.dw),
            "dx_stepped": (_("dA_prev so far"), "", cf.dx),
            "dx_closed": (_("dA_prev, full conv."), "dZ ✱ rot180(W)", cf.dx),
            "dx_transposed": (
                "conv_transpose(dZ, W)",
                cf.transposed_settings,
                cf.dx if cf.dx_transposed is None else cf.dx_transposed,
            ),
        }
        for role, (title, note, array) in titles.items():
            tiles = TileMap(tuple(int(s) for s in array.shape), one_d)
            self.panels[role].configure(
                title,
                tiles.count,
                tiles.tile_shape,
                grid=tiles.grid,
                index_text=tiles.index_text,
                subtitle=note or tiles.shape_text(),
            )

    def set_palette(self, key: str) -> None:
        """Every map in palette ``key`` (View ▸ Palette), drawn again when shown."""
        for panel in self.panels.values():
            panel.set_palette(key)
        self.refresh()

    def refresh(self) -> None:
        """Show the session's current step beside the closed forms."""
        trace = self._trace
        # A dock in a tab that is not current stays "visible" with an empty visible
        # region: skip the work there too (it is redone when the tab is raised).
        if trace is None or not self.grid_widget.isVisibleTo(self) or not self.isVisible():
            return
        if self.visibleRegion().isEmpty():
            return
        if self.closed is None:
            self.closed = trace.closed_form()
            self._configure(trace, self.closed)
        cf = self.closed
        step = trace.step(self.session.step)
        one_d = getattr(trace.layer, "dims", 2) == 1
        dz_level = max_abs(cf.dz_dilated)
        w_level = max_abs(trace.weight)
        dw_level = max_abs(cf.dw)
        dx_level = max_abs(cf.dx)
        values = {
            "dz_dilated": (cf.dz_dilated, dz_level),
            "dz_full": (cf.dz_full_padded, dz_level),
            "kernel": (trace.weight, w_level),
            "rotated": (cf.kernel_rotated, w_level),
            "dw_stepped": (step.state.dw, dw_level),
            "dw_closed": (cf.dw, dw_level),
            "dx_stepped": (step.state.dx, dx_level),
            "dx_closed": (cf.dx, dx_level),
            "dx_transposed": (cf.dx if cf.dx_transposed is None else cf.dx_transposed, dx_level),
        }
        for role, (array, level) in values.items():
            tiles = TileMap(tuple(int(s) for s in array.shape), one_d)
            self.panels[role].set_values(tiles.tiles(array), level, array)
        k, n = step.k, step.n
        self.heading.setText(
            _("Layer {index} backward · overlay {k} of {n}").format(index=self.session.layer_index, k=k, n=n)
        )
        if k < n:
            self.verdict.setStyleSheet("")
            self.verdict.setText(
                _(
                    "The stepped sums are partial: {left} overlay(s) to go. At overlay {n} they equal the "
                    "closed forms on the right."
                ).format(left=n - k, n=n)
            )
        else:
            same = np.allclose(step.state.dw, cf.dw, rtol=1e-12, atol=1e-12) and np.allclose(
                step.state.dx, cf.dx, rtol=1e-12, atol=1e-12
            )
            self.verdict.setStyleSheet(f"color: {'#047857' if same else '#b91c1c'};")
            self.verdict.setText("\n".join(closed_form_lines(trace, step)))

    @pyqtSlot(bool)
    def on_dock_visibility_changed(self, visible: bool) -> None:
        """Catch up with the current step when the dock's tab is raised (skipped while hidden)."""
        if visible:
            QTimer.singleShot(0, self.refresh)

    def _on_session_step_changed(self, k: int) -> None:
        self.refresh()
