"""The field app (flet is imported in `ui/views/` and `ui/app.py` only; `ui/models/` and `ui/i18n.py` are
plain Python that tests drive without a page)."""
