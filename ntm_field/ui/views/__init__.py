"""Thin views: controls built from a view-model, each event one call into it."""
