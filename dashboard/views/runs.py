"""Page script for the Runs page (st.Page("views/runs.py") in app.py; AppTest can switch to it)."""

from dashboard.runs_page import runs_page

runs_page()
