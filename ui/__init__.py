"""Streamlit glue shared by pages: state, translation, error display and reusable widgets."""
