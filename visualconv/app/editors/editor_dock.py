"""The Editor dock: the model's tensors as editable grids, matrix tools and layer settings.

Every change goes through :class:`EditHistory` (undo/redo) and the edit functions of
:mod:`visualconv.editing`, which return a valid model or say what was wrong; a refused
edit shows its message under the grid and the model shown stays as it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np
from PyQt6.QtCore import QSignalBlocker, Qt
from PyQt6.QtWidgets import (
    QApplication,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ... import editing
from ...engine import kinds
from ...engine.activations import ACTIVATIONS
from ...engine.errors import ModelError
from ...engine.kinds import Layer
from ...engine.model import LossSpec, Model
from ...i18n import N_, _
from .. import theme
from ..session import Session
from .history import REFUSED, EditHistory, refusal_text
from .tensor_grid import TensorGrid, split_index, tile_leads

ERROR_STYLE = "color: #b91c1c; font-weight: 600;"
OK_STYLE = "color: #047857;"

BACKWARD_STARTS = (
    ("upstream", N_("upstream deltas dZ (typed in)")),
    ("mse", N_("a target and squared error (mse)")),
    ("cross_entropy", N_("a target class and cross-entropy")),
)


def tensor_label(model: Model, name: str) -> str:
    """A tensor's entry in the chooser: file place, symbol and shape."""
    shape = editing.get_tensor(model, name).shape
    if name == "input":
        symbol = _("A_prev (input)")
    elif name == "upstream":
        symbol = _("dZ (upstream deltas)")
    elif name == "target":
        symbol = "target"
    else:
        index, attr = name[len("layers[") :].split("].")
        symbol = _("{symbol} of layer {index} ({kind})").format(
            symbol="W" if attr == "weight" else "b", index=index, kind=model.layers[int(index)].type
        )
    return f"{name}  ·  {symbol}  {tuple(shape)}"


def tile_captions(model: Model, name: str) -> list[str]:
    """Captions of the grid tiles of a tensor (channel / kernel slice)."""
    shape = editing.get_tensor(model, name).shape
    leads = tile_leads(shape)
    if leads == [()]:
        return [""]
    if name.endswith(".weight"):
        return [f"W[{', '.join(str(i) for i in lead)}]" for lead in leads]
    return [_("channel {c}").format(c=lead[0]) for lead in leads]


def setting_edit(index: int, key: str, text: str) -> Callable[[Model], Model]:
    """The edit that sets layer ``index``'s setting ``key`` to the typed ``text``."""
    return lambda model: editing.set_layer_setting(model, index, key, text)


def input_shape_edit(text: str) -> Callable[[Model], Model]:
    """The edit that gives the input the typed shape (``1, 5, 5``, ``1x5x5``)."""
    parts = [p for p in text.replace("×", ",").replace("x", ",").replace(" ", ",").split(",") if p]

    def edit(model: Model) -> Model:
        try:
            shape = [int(p) for p in parts]
        except ValueError:
            raise ModelError(
                _("expected sizes like 1, 5, 5, got {text}").format(text=repr(text)), "input"
            ) from None
        return editing.set_input_shape(model, shape)

    return edit


class EditorDock(QWidget):
    """Edit the input, kernels, biases, upstream deltas or target, and the layer settings."""

    def __init__(self, session: Session, history: EditHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editorDock")
        self.session = session
        self.history = history
        self.tensor = "input"
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)

        self.tabs = QTabWidget(self)
        layout.addWidget(self.tabs, 1)

        # --- values
        values = QWidget()
        v = QVBoxLayout(values)
        v.setContentsMargins(2, 4, 2, 2)
        v.setSpacing(4)
        self.chooser = QComboBox()
        self.chooser.setObjectName("tensorChooser")
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chooser.setMinimumContentsLength(20)
        v.addWidget(self.chooser)
        # Three short rows (the fills; Random and its seed; the clipboard): the dock fits beside the
        # window's area on a 1024-pixel screen in every language.
        tools1 = QHBoxLayout()
        tools2 = QHBoxLayout()
        tools3 = QHBoxLayout()
        self.tool_buttons: dict[str, QPushButton] = {}
        for key, text, row, tip in (
            ("zeros", _("Zeros"), tools1, _("Fill the tensor with 0")),
            ("ones", _("Ones"), tools1, _("Fill the tensor with 1")),
            (
                "identity",
                _("Identity"),
                tools1,
                _("The kernel that passes its input through: 1 at the centre"),
            ),
            (
                "impulse",
                _("Impulse"),
                tools1,
                _("Only the selected cell is 1 (one-hot): an impulse dZ isolates one output"),
            ),
            ("random", _("Random"), tools2, _("Seeded random values in [-1, 1], two decimals")),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(partial(self._on_fill_clicked, key))
            row.addWidget(button)
            self.tool_buttons[key] = button
        self.seed = QSpinBox()
        self.seed.setRange(0, 999_999)
        self.seed.setPrefix(_("seed "))
        self.seed.setToolTip(_("The seed of Random: the same seed gives the same values"))
        tools2.addWidget(self.seed)
        self.paste_button = QPushButton(_("Paste"))
        self.paste_button.setToolTip(
            _(
                "Paste CSV or a NumPy-style list from the clipboard into the selected channel "
                "(or the whole tensor)"
            )
        )
        self.copy_button = QPushButton(_("Copy CSV"))
        self.copy_button.setToolTip(_("Copy the selected channel (or the matrix) as CSV"))
        tools3.addWidget(self.paste_button)
        tools3.addWidget(self.copy_button)
        for button in (*self.tool_buttons.values(), self.paste_button, self.copy_button):
            # as narrow as its text allows: the dock fits beside the window's area on a 1024-pixel screen
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 16)
        v.addLayout(tools1)
        v.addLayout(tools2)
        v.addLayout(tools3)
        self.grid = TensorGrid(self)
        v.addWidget(self.grid, 1)
        self.links_text = QLabel("")
        self.links_text.setObjectName("linksText")
        self.links_text.setWordWrap(True)
        self.links_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.links_text.setFont(theme.monospace_font(9))
        self.links_text.setStyleSheet(
            "QLabel { background: #f5f3ff; border: 1px solid #ddd6fe; padding: 3px; }"
        )
        self.links_text.hide()
        v.addWidget(self.links_text)
        self.hint = QLabel(_("Type a number in a cell and press Enter. Ctrl+Z undoes, Ctrl+Shift+Z redoes."))
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        v.addWidget(self.hint)
        self.tabs.addTab(values, _("Values"))

        # --- settings
        settings = QWidget()
        s = QVBoxLayout(settings)
        s.setContentsMargins(2, 4, 2, 2)
        self.layer_hint = QLabel(_("The layer selected in the Layers list; select another there."))
        self.layer_hint.setObjectName("muted")
        self.layer_hint.setWordWrap(True)
        s.addWidget(self.layer_hint)
        self.layer_box = QGroupBox(_("Layer"))
        self.layer_form = QFormLayout(self.layer_box)
        self.layer_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.layer_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow: label above
        self.setting_edits: dict[str, QLineEdit] = {}
        self.setting_combos: dict[str, QComboBox] = {}
        self._form_key: tuple[int, str, int] | None = None
        s.addWidget(self.layer_box)
        model_box = QGroupBox(_("Model"))
        form = QFormLayout(model_box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.input_shape = QLineEdit()
        self.input_shape.setObjectName("inputShape")
        self.input_shape.setToolTip(
            _("Channels first: C, L (1-D) or C, H, W (2-D); values are kept where they fit")
        )
        self.input_shape.editingFinished.connect(self._on_input_shape_edited)
        self.input_shape.textEdited.connect(self._on_input_shape_text_edited)
        form.addRow(_("input size"), self.input_shape)
        self.backward_start = QComboBox()
        self.backward_start.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.backward_start.setMinimumContentsLength(16)
        for key, text in BACKWARD_STARTS:
            self.backward_start.addItem(_(text), key)
        self.backward_start.activated.connect(self._on_backward_start_activated)
        form.addRow(_("backward starts from"), self.backward_start)
        self.target_class = QLineEdit()
        self.target_class.setToolTip(_("The index of the correct class in the flattened output"))
        self.target_class.editingFinished.connect(self._on_target_class_edited)
        form.addRow(_("target class"), self.target_class)
        layers_row = QHBoxLayout()
        self.add_kind = QComboBox()
        self.add_kind.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.add_kind.setMinimumContentsLength(14)  # narrow in every language; the list shows all
        for kind in kinds.TYPES:
            self.add_kind.addItem(_("add {kind} layer").format(kind=kind), kind)
        self.add_button = QPushButton(_("Add"))
        self.add_button.clicked.connect(self._on_add_clicked)
        self.remove_button = QPushButton(_("Remove selected layer"))
        self.remove_button.clicked.connect(self._on_remove_clicked)
        layers_row.addWidget(self.add_kind)
        layers_row.addWidget(self.add_button)
        form.addRow(layers_row)
        form.addRow(self.remove_button)
        self.new_buttons: dict[int, QPushButton] = {}
        for dims in (1, 2):  # one under the other: the dock fits a 1024-pixel screen
            button = QPushButton(_("New empty {dims}-D model").format(dims=dims))
            button.setToolTip(_("A 1×1 input, a 1×1 kernel with zero bias and a 1×1 upstream delta"))
            button.clicked.connect(partial(self.new_empty_model, dims))
            form.addRow(button)
            self.new_buttons[dims] = button
        s.addWidget(model_box)
        s.addStretch(1)
        self.tabs.addTab(settings, _("Layer && model"))

        self.message = QLabel("")
        self.message.setObjectName("editorMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)

        self.chooser.activated.connect(self._on_chooser_activated)
        self.grid.sigCellEdited.connect(self._on_grid_cell_edited)
        self.grid.sigTyping.connect(self._on_grid_typing)
        self.paste_button.clicked.connect(self.paste_clipboard)
        self.copy_button.clicked.connect(self.copy_csv)
        history.sigEditRefused.connect(self._on_history_edit_refused)
        history.sigEditApplied.connect(self._on_history_edit_applied)
        session.sigModelChanged.connect(self._on_session_model_changed)
        session.sigTraceChanged.connect(self._on_session_trace_changed)
        session.sigPathChanged.connect(self._on_session_path_changed)
        if session.model is not None:
            self._on_session_model_changed(session.model)

    # ------------------------------------------------------------ messages

    def show_links(self, text: str) -> None:
        """Show the sum of the heat-map cell hovered or pinned (the terms in full, wrapped)."""
        self.links_text.setText(text.replace("   ·   ", "\n"))
        self.links_text.setVisible(bool(text))

    def show_error(self, text: str) -> None:
        """Say why an edit was refused (the model shown is unchanged)."""
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setText("✗ " + _("{reason} — nothing was changed.").format(reason=text))

    def show_note(self, text: str) -> None:
        """A short confirmation of what was done."""
        self.message.setStyleSheet(OK_STYLE)
        self.message.setText(text)

    def _on_history_edit_refused(self, text: str) -> None:
        self.show_error(text)

    def _on_history_edit_applied(self, text: str) -> None:
        self.show_note(f"✓ {text}")

    def _on_grid_typing(self, problem: str) -> None:
        if problem:
            self.message.setStyleSheet(ERROR_STYLE)
            self.message.setText(
                "✗ " + _("{problem} (Enter keeps the last valid value)").format(problem=problem)
            )
        else:
            self.message.setText("")

    def retranslate(self) -> None:
        """After a language switch: the texts made of words and numbers (tensor list, new-model buttons)."""
        for dims, button in self.new_buttons.items():
            button.setText(_("New empty {dims}-D model").format(dims=dims))
        model = self.session.model
        if model is not None:
            with QSignalBlocker(self.chooser):
                for index in range(self.chooser.count()):
                    self.chooser.setItemText(index, tensor_label(model, str(self.chooser.itemData(index))))

    # ------------------------------------------------------------ session

    def _on_session_model_changed(self, model: Model) -> None:
        names = editing.tensor_names(model)
        if self.tensor not in names:
            self.tensor = "input"
        with QSignalBlocker(self.chooser):
            self.chooser.clear()
            for name in names:
                self.chooser.addItem(tensor_label(model, name), name)
            self.chooser.setCurrentIndex(names.index(self.tensor))
        self._show_tensor(model)
        self._refresh_model_form(model)
        self._refresh_layer_form()

    def _on_session_path_changed(self, path: str) -> None:
        self.message.setText("")  # another model: the last one's messages are stale

    def _on_session_trace_changed(self, trace: object) -> None:
        self._refresh_layer_form()

    def _show_tensor(self, model: Model) -> None:
        array = editing.get_tensor(model, self.tensor)
        current = self.grid.current
        self.grid.show_tensor(self.tensor, array, tile_captions(model, self.tensor))
        if current is not None and self.grid.current is None and len(current) == array.ndim:
            if all(0 <= i < s for i, s in zip(current, array.shape, strict=True)):
                self.grid.select(current)
        tools_ok = {
            "identity": self.tensor != "target",
            "impulse": True,
        }
        for key, ok in tools_ok.items():
            self.tool_buttons[key].setEnabled(ok)

    def select_tensor(self, name: str) -> None:
        """Show tensor ``name`` in the grid (as if chosen in the list)."""
        index = self.chooser.findData(name)
        if index < 0:
            raise KeyError(name)
        self.chooser.setCurrentIndex(index)
        self._on_chooser_activated(index)

    def _on_chooser_activated(self, index: int) -> None:
        name = self.chooser.itemData(index)
        model = self.session.model
        if name is None or model is None:
            return
        self.tensor = str(name)
        self.message.setText("")
        self._show_tensor(model)

    # ------------------------------------------------------------ values

    def _on_grid_cell_edited(self, index: tuple[int, ...], text: str) -> None:
        name = self.tensor
        where = f"{name}[{', '.join(str(i) for i in index)}]"

        def edit(model: Model) -> Model:
            try:
                return editing.set_cell(model, name, index, text)
            except ModelError as exc:  # name the cell, not only the tensor
                raise ModelError(exc.message, where if exc.place == name else exc.place) from None

        self.history.apply(f"{where} = {text.strip()}", edit)

    def _on_fill_clicked(self, kind: str) -> None:
        name = self.tensor
        if kind == "impulse":
            cell = self.grid.current
            if cell is None:
                self.show_error(_("select the cell for the 1 first (click it in the grid or in a heat map)"))
                return
            where = ", ".join(str(i) for i in cell)
            self.history.apply(
                _("impulse {tensor}").format(tensor=f"{name}[{where}]"),
                lambda m: editing.fill(m, name, "impulse", index=cell),
            )
            return
        seed = self.seed.value()
        label = (
            _("random {tensor} (seed {seed})").format(tensor=name, seed=seed)
            if kind == "random"
            else _("{fill} {tensor}").format(fill=_(kind), tensor=name)
        )
        self.history.apply(label, lambda m: editing.fill(m, name, kind, seed=seed))

    def _lead(self) -> tuple[int, ...]:
        """The tile (channel, kernel slice) that paste and copy work on."""
        shape = editing.get_tensor(self.session.model, self.tensor).shape  # type: ignore[arg-type]
        leads, _ = split_index(shape)
        return self.grid.current_lead if leads else ()

    def paste_clipboard(self) -> bool:
        """Paste the clipboard's CSV or list into the selected tile (or the whole tensor)."""
        clipboard = QApplication.clipboard()
        text = clipboard.text() if clipboard is not None else ""
        if self.session.model is None:
            return False
        name = self.tensor
        lead = self._lead()
        model = self.session.model
        whole = editing.get_tensor(model, name)
        try:
            block = editing.parse_matrix(text, name)
        except ModelError as exc:
            self.show_error(exc.localized())
            return False
        # A block with the whole tensor's values goes everywhere; else into the selected tile.
        if lead and block.size == whole.size and math.prod(whole.shape[len(lead) :]) != block.size:
            lead = ()
        where = f"{name}[{', '.join(str(i) for i in lead)}]" if lead else name
        return self.history.apply(
            _("paste into {tensor}").format(tensor=where), lambda m: editing.paste(m, name, text, lead)
        )

    def copy_csv(self) -> str:
        """Copy the selected tile (or the matrix) as CSV; returns the text."""
        model = self.session.model
        if model is None:
            return ""
        array = editing.get_tensor(model, self.tensor)
        lead = self._lead()
        tile = np.asarray(array[lead] if lead else array)
        while tile.ndim > 2:
            tile = tile[0]
        text = editing.to_csv(tile)
        clipboard = QApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(text)
        where = f"{self.tensor}[{', '.join(str(i) for i in lead)}]" if lead else self.tensor
        self.show_note(_("Copied {tensor} as CSV ({n} values)").format(tensor=where, n=tile.size))
        return text

    def select_cell(self, name: str, index: tuple[int, ...]) -> None:
        """Show tensor ``name`` with cell ``index`` selected (clicked in a heat map)."""
        if self.chooser.findData(name) < 0:
            return
        if name != self.tensor:
            self.select_tensor(name)
        self.grid.select(index)

    # ------------------------------------------------------------ settings

    def _clear_layer_form(self) -> None:
        # takeRow + deleteLater: this may run inside a handler of one of these widgets.
        while self.layer_form.rowCount():
            row = self.layer_form.takeRow(0)
            for item in (row.labelItem, row.fieldItem):
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.hide()
                    widget.deleteLater()
        self.setting_edits, self.setting_combos = {}, {}

    def _refresh_layer_form(self) -> None:
        model = self.session.model
        if model is None:
            self._clear_layer_form()
            return
        index = min(self.session.layer_index, len(model.layers) - 1)  # the session selects after a new model
        layer = model.layers[index]
        dims = model.dims
        rows = self._setting_rows(layer, dims)
        if self._form_key == (index, layer.type, dims) and self.layer_form.rowCount():
            for key, _label, text in rows:  # same layer: only the texts change
                if key in self.setting_edits:
                    with QSignalBlocker(self.setting_edits[key]):
                        self.setting_edits[key].setText(text)
                elif key in self.setting_combos:
                    with QSignalBlocker(self.setting_combos[key]):
                        self.setting_combos[key].setCurrentText(text)
            self.remove_button.setEnabled(len(model.layers) > 1)
            return
        self._form_key = (index, layer.type, dims)
        self._clear_layer_form()
        self.layer_box.setTitle(_("Layer {index}: {kind}").format(index=index, kind=layer.type))
        for key, label, text in rows:
            if key in ("activation", "mode"):
                combo = QComboBox()
                combo.setObjectName(f"setting-{key}")
                options = ACTIVATIONS if key == "activation" else ("max", "avg")
                combo.addItems(options)
                combo.setCurrentText(text)
                combo.activated.connect(partial(self._on_setting_combo_activated, key))
                self.layer_form.addRow(_(label), combo)
                self.setting_combos[key] = combo
            else:
                edit = QLineEdit(text)
                edit.setObjectName(f"setting-{key}")
                edit.editingFinished.connect(partial(self._on_setting_edited, key))
                edit.textEdited.connect(partial(self._on_setting_text_edited, key))
                self.layer_form.addRow(_(label), edit)
                self.setting_edits[key] = edit
        if not self.setting_edits and not self.setting_combos:
            self.layer_form.addRow(QLabel(_("A {kind} layer has no settings.").format(kind=layer.type)))
        self.remove_button.setText(_("Remove layer {index}").format(index=index))
        self.remove_button.setEnabled(len(model.layers) > 1)

    @staticmethod
    def _setting_rows(layer: Layer, dims: int) -> list[tuple[str, str, str]]:
        return layer.kind.settings(layer, dims)

    def _setting_text(self, key: str) -> str:
        model = self.session.model
        assert model is not None
        rows = self._setting_rows(model.layers[self.session.layer_index], model.dims)
        return next(text for k, _, text in rows if k == key)

    def _on_setting_edited(self, key: str) -> None:
        edit = self.setting_edits.get(key)
        if edit is None or self.session.model is None:
            return
        text = edit.text().strip()
        if text == self._setting_text(key):
            return
        index = self.session.layer_index
        if not self.history.apply(f"layers[{index}].{key} = {text}", setting_edit(index, key, text)):
            edit.setText(self._setting_text(key))

    def _on_setting_combo_activated(self, key: str, position: int) -> None:
        combo = self.setting_combos[key]
        value = combo.itemText(position)
        index = self.session.layer_index
        if value != self._setting_text(key):
            self.history.apply(
                f"layers[{index}].{key} = {value}", lambda m: editing.set_layer_setting(m, index, key, value)
            )

    def _refresh_model_form(self, model: Model) -> None:
        self.input_shape.setText(", ".join(str(s) for s in model.input.shape))
        if model.upstream is not None or model.loss is None:
            key = "upstream"
        else:
            key = model.loss.type
        with QSignalBlocker(self.backward_start):
            self.backward_start.setCurrentIndex(self.backward_start.findData(key))
        self.target_class.setEnabled(key == "cross_entropy")
        self.target_class.setText(str(model.target) if isinstance(model.target, int) else "")

    def preview(self, edit: Callable[[Model], Model]) -> bool:
        """Check an edit as it is typed: say what is wrong now, change nothing yet."""
        model = self.session.model
        if model is None:
            return False
        try:
            edit(model)
        except REFUSED as exc:
            self.message.setStyleSheet(ERROR_STYLE)
            self.message.setText(
                "✗ " + _("{problem} (Enter keeps the last valid value)").format(problem=refusal_text(exc))
            )
            return False
        self.message.setText("")
        return True

    def _on_setting_text_edited(self, key: str, text: str) -> None:
        self.preview(setting_edit(self.session.layer_index, key, text.strip()))

    def _on_input_shape_text_edited(self, text: str) -> None:
        self.preview(input_shape_edit(text.strip()))

    def _on_input_shape_edited(self) -> None:
        model = self.session.model
        if model is None:
            return
        text = self.input_shape.text().strip()
        if text == ", ".join(str(s) for s in model.input.shape):
            return
        if not self.history.apply(_("input size {size}").format(size=text), input_shape_edit(text)):
            self.input_shape.setText(", ".join(str(s) for s in model.input.shape))

    def _on_backward_start_activated(self, position: int) -> None:
        key = self.backward_start.itemData(position)
        loss = None if key == "upstream" else LossSpec(str(key))
        self.history.apply(
            _("backward starts from {start}").format(start=self.backward_start.itemText(position)),
            lambda m: editing.use_loss(m, loss),
        )

    def _on_target_class_edited(self) -> None:
        model = self.session.model
        if model is None or model.loss is None or not model.loss.classifies:
            return
        text = self.target_class.text().strip()
        if text == str(model.target):
            return
        loss = model.loss

        def edit(m: Model) -> Model:
            try:
                value = int(text)
            except ValueError:
                raise ModelError(
                    _("expected a class index, got {text}").format(text=repr(text)), "target"
                ) from None
            return editing.use_loss(m, loss, value)

        if not self.history.apply(_("target class {index}").format(index=text), edit):
            self.target_class.setText(str(model.target))

    def _on_add_clicked(self) -> None:
        kind = str(self.add_kind.currentData())
        self.history.apply(_("add a {kind} layer").format(kind=kind), lambda m: editing.add_layer(m, kind))

    def _on_remove_clicked(self) -> None:
        index = self.session.layer_index
        self.history.apply(
            _("remove layer {index}").format(index=index), lambda m: editing.remove_layer(m, index)
        )

    def new_empty_model(self, dims: int) -> None:
        """Start from the smallest model (undo brings the previous one back)."""
        self.history.replace_all(_("new empty {dims}-D model").format(dims=dims), editing.empty_model(dims))
        self.show_note(
            "✓ "
            + _(
                "An empty {dims}-D model: set the input size and the kernel size in this tab, "
                "then type the values in the Values tab."
            ).format(dims=dims)
        )
