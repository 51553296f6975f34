"""Gradient Flow Lab dashboard: Streamlit pages, widgets and state, and pure figure builders."""
