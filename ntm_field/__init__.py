"""ntm-field: offline-first field survey of the "4 phủ" campaign.

Data flows view → view-model → domain → local store → sync client ⇄ server API →
server store → aggregates; each layer is a subpackage and each outside library
is imported by one of them only (see tests/test_layers.py).
"""

__version__ = "0.1.0"
