"""The visualconv window (PyQt6 + pyqtgraph); the engine never imports this package."""
