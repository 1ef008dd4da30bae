"""Household label sheets as a PDF written by hand: A4, vector QR codes, base-14 Helvetica.

Standard library only, like png.py: the phone build carries no Pillow, reportlab or fpdf2.
Each QR is drawn as one filled rectangle per run of dark modules; the label text is ASCII
(codes and a fixed line), so the built-in Helvetica fonts need no embedding.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# A4 portrait in points (1 pt = 1/72 in), cut into the 3 × 8 grid of common 70 × 37 mm label stock.
PAGE_WIDTH, PAGE_HEIGHT = 595.28, 841.89
COLUMNS, ROWS = 3, 8
PER_PAGE = COLUMNS * ROWS
CELL_WIDTH, CELL_HEIGHT = PAGE_WIDTH / COLUMNS, PAGE_HEIGHT / ROWS
PADDING = 6.0
TEXT_RIGHT_MARGIN = 14.0  # ≈ 5 mm: most printers cannot print the last 4 mm of the page
QR_BOX = CELL_HEIGHT - 2 * PADDING  # the QR with its quiet zone: ≈ 31 mm, the symbol itself ≥ 22 mm
FOOTER = "ntm-field"

# Advance widths (1/1000 em) of Helvetica-Bold, from its Adobe font metrics, for the characters
# of label codes; anything else is measured as a wide letter, so a line never overflows.
BOLD_WIDTHS = {
    **dict.fromkeys("0123456789", 556), "-": 333, "/": 278, " ": 278, ".": 278,
    **dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
               (722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833,
                722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611))),
}  # fmt: skip
WIDE = 944


@dataclass(frozen=True, slots=True)
class Label:
    """What one label shows: a short code in print and a link in its QR (never personal data)."""

    code: str
    link: str


def label_sheet_pdf(labels: Sequence[Label], *, matrix: Callable[[str], list[list[bool]]], cut_lines: bool = True) -> bytes:
    """A PDF of `labels`, 24 to an A4 page, left to right then top to bottom."""
    for label in labels:
        if not label.code.isascii() or not label.code.isprintable():
            raise ValueError("label codes are printed with a base-14 font: ASCII only")
    pages = [labels[start : start + PER_PAGE] for start in range(0, len(labels), PER_PAGE)] or [[]]
    contents = [_page_content(page, matrix, cut_lines) for page in pages]
    return _document(contents)


def cell_origin(index: int) -> tuple[float, float]:
    """The lower-left corner (points) of the `index`-th cell of a page."""
    row, column = divmod(index % PER_PAGE, COLUMNS)
    return column * CELL_WIDTH, PAGE_HEIGHT - (row + 1) * CELL_HEIGHT


def _page_content(labels: Sequence[Label], matrix: Callable[[str], list[list[bool]]], cut_lines: bool) -> bytes:
    ops: list[str] = []
    if cut_lines:
        ops.append("q 0.75 G 0.3 w [2 2] 0 d")
        ops += [f"{_n(c * CELL_WIDTH)} 0 m {_n(c * CELL_WIDTH)} {_n(PAGE_HEIGHT)} l S" for c in range(1, COLUMNS)]
        ops += [f"0 {_n(r * CELL_HEIGHT)} m {_n(PAGE_WIDTH)} {_n(r * CELL_HEIGHT)} l S" for r in range(1, ROWS)]
        ops.append("Q")
    for index, label in enumerate(labels):
        x, y = cell_origin(index)
        ops += _qr_ops(matrix(label.link), x + PADDING, y + PADDING)
        ops += _text_ops(label.code, x + PADDING + QR_BOX, y)
    return "\n".join(ops).encode("ascii")


def _qr_ops(modules: list[list[bool]], x: float, y: float) -> list[str]:
    """One rectangle per horizontal run of dark modules, drawn in module units (row 0 at the top)."""
    size = QR_BOX / len(modules)
    rects = []
    for r, row in enumerate(modules):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                rects.append(f"{start} {len(modules) - r - 1} {c - start} 1 re")
            else:
                c += 1
    return [f"q 0 g {_n(size)} 0 0 {_n(size)} {_n(x)} {_n(y)} cm", *rects, "f Q"]


def _text_ops(code: str, x: float, y: float) -> list[str]:
    """The code in two lines (hamlet, then the household part in large type) and the fixed footer."""
    width = CELL_WIDTH - PADDING - QR_BOX - TEXT_RIGHT_MARGIN
    hamlet, slash, own = code.rpartition("/")
    lines = [(hamlet + slash, 13.0, y + 64), (own, 22.0, y + 38)] if slash else [(code, 22.0, y + 50)]
    ops = ["0 g"]
    for text, largest, baseline in lines:
        size = min(largest, width / (_em_width(text) or 1))
        ops.append(f"BT /F1 {_n(size)} Tf {_n(x)} {_n(baseline)} Td ({_escape(text)}) Tj ET")
    ops.append(f"0.35 g BT /F2 7 Tf {_n(x)} {_n(y + PADDING + 8)} Td ({FOOTER}) Tj ET")
    return ops


def _em_width(text: str) -> float:
    return sum(BOLD_WIDTHS.get(char, WIDE) for char in text) / 1000


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _n(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _document(page_contents: list[bytes]) -> bytes:
    """Catalog, page tree, two fonts, then a page object and a compressed content stream per page."""
    first_page = 5
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(len(page_contents)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(page_contents)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, content in enumerate(page_contents):
        stream = zlib.compress(content, 9)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_n(PAGE_WIDTH)} {_n(PAGE_HEIGHT)}] "
            f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {first_page + 2 * i + 1} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
