"""Widgets: the pieces pages are made of (editor, CSV panel, results, the lab page's body)."""
