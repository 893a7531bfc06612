"""The layer list and the pass selector."""

from __future__ import annotations

from PyQt6.QtCore import QModelIndex, QRect, QSignalBlocker, QSize, Qt, QTimer
from PyQt6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QRadioButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...engine.kinds import Layer
from ...engine.model import Model
from ...i18n import _
from ...samples import shown
from ...textsafe import printable
from ..session import Session


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def layer_summary(layer: Layer, dims: int) -> tuple[str, str]:
    """The layer's type with its kernel and its settings, as two short texts."""
    return layer.kind.summary(layer, dims)


class _WrappedRows(QStyledItemDelegate):
    """Rows as tall as their lines wrapped at the column's width (Qt measures them unwrapped)."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        """Qt's size, taller by the lines that wrapping at the column's width adds."""
        hint = super().sizeHint(option, index)
        view = self.parent()
        text = index.data()
        if not isinstance(view, QTreeWidget) or not isinstance(text, str) or not text:
            return hint
        style = view.style()
        assert style is not None
        margin = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1)
        width = max(1, view.columnWidth(index.column()) - margin)
        metrics = option.fontMetrics
        wrapped = metrics.boundingRect(QRect(0, 0, width, 1 << 20), int(Qt.TextFlag.TextWordWrap), text)
        plain = metrics.boundingRect(QRect(0, 0, 1 << 20, 1 << 20), 0, text)
        hint.setHeight(max(hint.height(), hint.height() - plain.height() + wrapped.height()))
        return hint


class Navigator(QWidget):
    """The model's layers (type, shapes, settings) and the forward / backward choice."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        self.model_label = QLabel("")
        self.model_label.setWordWrap(True)
        self.model_label.setObjectName("panelTitle")
        self.description = QLabel("")
        self.description.setWordWrap(True)
        self.description.setObjectName("muted")
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.model_label)
        layout.addWidget(self.description)

        self.layers = QTreeWidget(self)
        self.layers.setObjectName("layerList")
        self.layers.setHeaderLabels(["#", _("layer · settings · shape in → out")])
        self.layers.setRootIsDecorated(False)
        self.layers.setUniformRowHeights(False)
        self.layers.setWordWrap(True)
        self.layers.setAlternatingRowColors(True)
        self.layers.setItemDelegate(_WrappedRows(self.layers))
        header = self.layers.header()
        assert header is not None
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        # Rows wrap their lines at the column's width: when it changes (a narrower dock, longer
        # words of another language) the row heights are measured again, so no line is cut.
        self._relayout = QTimer(self)
        self._relayout.setSingleShot(True)
        self._relayout.setInterval(0)
        self._relayout.timeout.connect(self.layers.doItemsLayout)
        header.sectionResized.connect(self._on_header_section_resized)
        layout.addWidget(self.layers, 1)

        layout.addWidget(QLabel(_("Pass:")))  # above its choices: the dock fits a 1024-pixel screen
        passes = QHBoxLayout()
        self.forward_button = QRadioButton(_("Forward"))
        self.backward_button = QRadioButton(_("Backward"))
        self.pass_group = QButtonGroup(self)
        for b in (self.forward_button, self.backward_button):
            self.pass_group.addButton(b)
            passes.addWidget(b)
        passes.addStretch(1)
        layout.addLayout(passes)
        self.pass_note = QLabel("")
        self.pass_note.setObjectName("muted")
        self.pass_note.setWordWrap(True)
        layout.addWidget(self.pass_note)

        self.layers.currentItemChanged.connect(self._on_layers_current_changed)
        self.forward_button.toggled.connect(self._on_forward_toggled)
        session.sigModelChanged.connect(self._on_session_model_changed)
        session.sigTraceChanged.connect(self._on_session_trace_changed)

    def refresh(self) -> None:
        """List the session's model again (a language switch: its summaries in the new words)."""
        if self.session.model is not None:
            self._on_session_model_changed(self.session.model)

    def _on_session_model_changed(self, model: Model) -> None:
        self.model_label.setText(printable(shown(model.name)))  # a tab or newline never splits the heading
        self.description.setText(shown(model.description))
        self.description.setVisible(bool(model.description))
        shapes = model.shapes()
        with QSignalBlocker(self.layers):
            self.layers.clear()
            for index, layer in enumerate(model.layers):
                kind, settings = layer_summary(layer, model.dims)
                lines = [kind, settings, f"{_shape(shapes[index])} → {_shape(shapes[index + 1])}"]
                item = QTreeWidgetItem([str(index), "\n".join(line for line in lines if line)])
                item.setToolTip(1, f"layers[{index}]: {kind}; {settings}".rstrip("; "))
                item.setData(0, Qt.ItemDataRole.UserRole, index)
                self.layers.addTopLevelItem(item)
        self.backward_button.setEnabled(model.has_backward)
        self.pass_note.setText(
            ""
            if model.has_backward
            else _("This model has no upstream or target: only the forward pass exists.")
        )
        self.pass_note.setVisible(not model.has_backward)

    def _on_header_section_resized(self, index: int, old: int, new: int) -> None:
        if index == 1:
            self._relayout.start()

    def _on_session_trace_changed(self, trace: object) -> None:
        with QSignalBlocker(self.layers):
            item = self.layers.topLevelItem(self.session.layer_index)
            if item is not None:
                self.layers.setCurrentItem(item)
        with QSignalBlocker(self.forward_button), QSignalBlocker(self.backward_button):
            forward = self.session.pass_name == "forward"
            self.forward_button.setChecked(forward)
            self.backward_button.setChecked(not forward)

    def _on_layers_current_changed(self, current: QTreeWidgetItem | None, previous: object) -> None:
        if current is not None:
            self.session.set_layer(int(current.data(0, Qt.ItemDataRole.UserRole)))

    def _on_forward_toggled(self, checked: bool) -> None:
        self.session.set_pass("forward" if checked else "backward")
