"""The core model: records, validation, indicators, merge, codes and units.

Standard library only (tests/test_layers.py keeps it so): the app, the server
and every report call this same code.
"""
