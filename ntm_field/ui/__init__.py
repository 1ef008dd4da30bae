"""The field app (flet is imported in `ui/views/`, `ui/app.py` and the dashboard only;
`ui/models/` and `ui/i18n.py` are plain Python that tests drive without a page)."""
