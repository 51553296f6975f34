"""Pure figure builders: data (pandas/numpy) in, plotly Figure out. No Streamlit here."""
