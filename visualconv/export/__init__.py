"""Exports of snapshots for lectures: PNG, SVG, PDF, LaTeX, GIF and data."""
