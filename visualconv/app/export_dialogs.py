"""The export dialogs: options that stay, and the lecture pack's choice.

Options kept between runs: scale, frame time, decimals and the last folder per format;
the pack dialog chooses layers, passes, steps and formats with checkboxes.

Everything a dialog remembers lives in the window's QSettings under ``export/``:
``export/folder/<format>`` (the folder of the last file written in that format),
``export/scale``, ``export/frame_ms`` and ``export/decimals`` (-1: as the window shows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..i18n import N_, _

DEFAULT_SCALE = 2.0
PACK_SCALE = 0.75  # the pack's images are for browsing; slides come from the decks
DEFAULT_FRAME_MS = 900

FORMAT_NAMES = {
    "png": N_("PNG images, one per step"),
    "tex": N_("LaTeX per step (matrices in heat-map colours)"),
    "gif": N_("GIF animation per pass"),
    "beamer": N_("Beamer deck per pass (an overlay per step)"),
    "pptx": N_("PowerPoint per pass (a slide per step)"),
    "mp4": N_("MP4 video per pass (H.264)"),
    "apng": N_("Animated PNG per pass"),
}


class ExportSettings:
    """The export options kept between runs, in the window's QSettings."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def _number(self, key: str, default: float) -> float:
        value = self.settings.value(f"export/{key}", default)
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return default

    @property
    def scale(self) -> float:
        """Pixel scale of images (PNG, animations)."""
        return min(max(self._number("scale", DEFAULT_SCALE), 0.25), 8.0)

    @scale.setter
    def scale(self, value: float) -> None:
        self.settings.setValue("export/scale", float(value))

    @property
    def frame_ms(self) -> int:
        """Display time of an animation's frame."""
        return int(min(max(self._number("frame_ms", DEFAULT_FRAME_MS), 20), 60000))

    @frame_ms.setter
    def frame_ms(self, value: int) -> None:
        self.settings.setValue("export/frame_ms", int(value))

    @property
    def decimals(self) -> int | None:
        """Decimals of the numbers in cells, or None for the window's per-panel decimals."""
        value = int(self._number("decimals", -1))
        return None if value < 0 else min(value, 12)

    @decimals.setter
    def decimals(self, value: int | None) -> None:
        self.settings.setValue("export/decimals", -1 if value is None else int(value))

    def folder(self, fmt: str) -> str:
        """The folder of the last export in this format ('' when none yet)."""
        folder = str(self.settings.value(f"export/folder/{fmt}", "") or "")
        return folder if folder and Path(folder).is_dir() else ""

    def remember(self, fmt: str, path: str | Path) -> None:
        """Remember the folder of a file (or the parent of a pack folder) written in ``fmt``."""
        self.settings.setValue(f"export/folder/{fmt}", str(Path(path).resolve().parent))

    def start(self, fmt: str, name: str) -> str:
        """Where a save dialog for ``fmt`` starts: the last folder of that format, this name."""
        folder = self.folder(fmt)
        return str(Path(folder) / name) if folder else name


class OptionsDialog(QDialog):
    """File ▸ Export ▸ Export options…: scale, frame time and the decimals of cell numbers."""

    def __init__(self, options: ExportSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Export options"))
        self.options = options
        form = QFormLayout(self)
        self.scale = QDoubleSpinBox()
        self.scale.setRange(0.25, 8.0)
        self.scale.setSingleStep(0.25)
        self.scale.setValue(options.scale)
        self.scale.setToolTip(_("Pixels per figure unit of PNG images and animations (2 for slides)"))
        form.addRow(_("Image scale:"), self.scale)
        self.frame_ms = QSpinBox()
        self.frame_ms.setRange(20, 60000)
        self.frame_ms.setSingleStep(100)
        self.frame_ms.setSuffix(" ms")
        self.frame_ms.setValue(options.frame_ms)
        self.frame_ms.setToolTip(
            _("How long each step shows in GIF, MP4 and APNG (the last one at least 2.5 s)")
        )
        form.addRow(_("Frame time:"), self.frame_ms)
        self.decimals = QSpinBox()
        self.decimals.setRange(-1, 12)
        self.decimals.setSpecialValueText(_("as the window shows them"))
        self.decimals.setValue(-1 if options.decimals is None else options.decimals)
        form.addRow(_("Decimals in cells (LaTeX, Beamer, PowerPoint):"), self.decimals)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        """Keep the options."""
        self.options.scale = self.scale.value()
        self.options.frame_ms = self.frame_ms.value()
        value = self.decimals.value()
        self.options.decimals = None if value < 0 else value
        super().accept()


@dataclass(frozen=True, slots=True)
class PackChoice:
    """What the pack dialog asks for."""

    directory: str
    layers: tuple[int, ...]
    passes: tuple[str, ...]
    steps: str | None
    formats: tuple[str, ...]
    scale: float
    frame_ms: int


class PackDialog(QDialog):
    """File ▸ Export ▸ Export lecture pack…: the folder, and checkboxes for what goes in.

    Parameters
    ----------
    model : Model
        The model shown (its layers are listed).
    options : ExportSettings
    start : str
        The folder proposed.
    """

    def __init__(
        self, model: Any, options: ExportSettings, start: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Export lecture pack"))
        self.options = options
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel(_("Folder:")))
        self.folder = QLineEdit(start)
        self.folder.setToolTip(
            _("Created when it does not exist; Cancel while writing removes what was written")
        )
        row.addWidget(self.folder, 1)
        browse = QPushButton(_("Browse…"))
        browse.clicked.connect(self.browse)
        row.addWidget(browse)
        layout.addLayout(row)

        layers = QGroupBox(_("Layers"))
        grid = QGridLayout(layers)
        self.layer_boxes = []
        for i, layer in enumerate(model.layers):
            box = QCheckBox(f"{i}: {layer.type}")
            box.setChecked(True)
            grid.addWidget(box, i // 4, i % 4)
            self.layer_boxes.append(box)
        layout.addWidget(layers)

        passes = QGroupBox(_("Passes"))
        prow = QHBoxLayout(passes)
        self.forward = QCheckBox(_("forward"))
        self.forward.setChecked(True)
        self.backward = QCheckBox(_("backward"))
        self.backward.setChecked(bool(model.has_backward))
        self.backward.setEnabled(bool(model.has_backward))
        prow.addWidget(self.forward)
        prow.addWidget(self.backward)
        prow.addStretch(1)
        layout.addWidget(passes)

        form = QFormLayout()
        self.steps = QLineEdit()
        self.steps.setPlaceholderText(_("all (or e.g. 0-4,last)"))
        form.addRow(_("Steps:"), self.steps)
        self.scale = QDoubleSpinBox()
        self.scale.setRange(0.25, 8.0)
        self.scale.setSingleStep(0.25)
        self.scale.setValue(PACK_SCALE)
        form.addRow(_("Image scale:"), self.scale)
        self.frame_ms = QSpinBox()
        self.frame_ms.setRange(20, 60000)
        self.frame_ms.setSingleStep(100)
        self.frame_ms.setSuffix(" ms")
        self.frame_ms.setValue(options.frame_ms)
        form.addRow(_("Frame time:"), self.frame_ms)
        layout.addLayout(form)

        formats = QGroupBox(_("Formats"))
        fgrid = QGridLayout(formats)
        self.format_boxes: dict[str, QCheckBox] = {}
        chosen = set(str(options.settings.value("export/pack_formats", "png,tex,gif,beamer")).split(","))
        for i, (fmt, english) in enumerate(FORMAT_NAMES.items()):
            text = _(english)
            box = QCheckBox(text)
            box.setChecked(fmt in chosen)
            fgrid.addWidget(box, i // 2, i % 2)
            self.format_boxes[fmt] = box
        layout.addWidget(formats)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok is not None
        ok.setText(_("Export"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def browse(self) -> None:
        """Pick the folder."""
        folder = QFileDialog.getExistingDirectory(self, _("Lecture pack folder"), self.folder.text())
        if folder:
            self.folder.setText(folder)

    def choice(self) -> PackChoice:
        """The choice made in the dialog."""
        passes = tuple(
            p for p, box in (("forward", self.forward), ("backward", self.backward)) if box.isChecked()
        )
        return PackChoice(
            self.folder.text().strip(),
            tuple(i for i, box in enumerate(self.layer_boxes) if box.isChecked()),
            passes,
            self.steps.text().strip() or None,
            tuple(fmt for fmt, box in self.format_boxes.items() if box.isChecked()),
            self.scale.value(),
            self.frame_ms.value(),
        )

    def accept(self) -> None:
        """Keep the formats and frame time for next time."""
        choice = self.choice()
        self.options.settings.setValue("export/pack_formats", ",".join(choice.formats))
        self.options.frame_ms = choice.frame_ms
        super().accept()
