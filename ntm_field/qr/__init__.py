"""QR codes and household label sheets, with `qrcode` and the standard library only.

The phone build carries flet, sqlite-utils, requests and qrcode, and no Pillow: `qrcode`
gives the module matrix (matrix.py) and the PNG (png.py) and PDF (pdf.py) are written by hand.

A household's QR holds its link, `{base}/household/{id}`: the route the field app and the
dashboard both open. The printed code is `Household.label_code` (e.g. `25216-03/3B0F5A`),
the one the app shows and searches; no label carries a name or a house number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from ntm_field.qr.matrix import qr_matrix
from ntm_field.qr.pdf import PER_PAGE, Label
from ntm_field.qr.pdf import label_sheet_pdf as _label_sheet_pdf
from ntm_field.qr.png import matrix_png


class Labelled(Protocol):
    """A household or a household summary: anything with an id and a label code."""

    @property
    def id(self) -> str: ...

    @property
    def label_code(self) -> str: ...


def household_link(base_url: str, household_id: str) -> str:
    """The link a household's QR holds."""
    return f"{base_url.rstrip('/')}/household/{household_id}"


def household_labels(households: Iterable[Labelled], base_url: str) -> list[Label]:
    """One label per household, sorted by label code (the order of the printed sheet)."""
    labels = [Label(code=h.label_code, link=household_link(base_url, h.id)) for h in households]
    return sorted(labels, key=lambda label: (label.code, label.link))


def qr_png(text: str, *, scale: int = 8) -> bytes:
    """A PNG of the QR code of `text` (error correction M, quiet zone of 4 modules), `scale` px a module."""
    return matrix_png(qr_matrix(text), scale=scale)


def label_sheet_pdf(labels: Sequence[Label], *, cut_lines: bool = True) -> bytes:
    """An A4 PDF of the labels, 3 × 8 to a page (70 × 37 mm label stock), with dashed cut lines."""
    return _label_sheet_pdf(labels, matrix=qr_matrix, cut_lines=cut_lines)


__all__ = ["PER_PAGE", "Label", "household_labels", "household_link", "label_sheet_pdf", "qr_matrix", "qr_png"]
