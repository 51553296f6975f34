"""Page script for the Phase diagrams page (st.Page("views/phase.py") in app.py)."""

from dashboard.phase_page import phase_page

phase_page()
