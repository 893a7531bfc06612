"""Widgets of the visualconv window."""
