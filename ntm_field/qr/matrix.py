"""The QR module matrix: the one place that imports `qrcode`."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4  # modules of white around the symbol, as ISO/IEC 18004 asks


def qr_matrix(text: str, *, border: int = QUIET_ZONE) -> list[list[bool]]:
    """The QR code of `text` (error correction M) as rows of modules, True = dark, quiet zone included.

    Only the matrix is taken from `qrcode`: its image factories need Pillow, which the phone
    build does not carry, so the PNG and PDF writers next to this module draw it themselves.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border)
    code.add_data(text.encode("utf-8"))
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]
