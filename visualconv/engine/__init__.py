"""The NumPy engine of visualconv: float64, channels first, never imports Qt."""
