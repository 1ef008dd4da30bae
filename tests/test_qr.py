"""QR codes and label sheets: every code is read back by a real decoder (zxing-cpp), PDFs are
rendered by a real PDF engine (pdfium), and the phone build's dependencies are enough."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import uuid
import zlib
from dataclasses import replace

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from ntm_field.bench.households import generate
from ntm_field.qr import Label, household_labels, household_link, label_sheet_pdf, qr_matrix, qr_png
from ntm_field.qr.pdf import CELL_HEIGHT, CELL_WIDTH, COLUMNS, PAGE_HEIGHT, PER_PAGE, QR_BOX, cell_origin

RENDER_SCALE = 3  # 216 dpi: a module of the label QR is ≈ 6 px


def decode(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def render(pdf: bytes) -> list[tuple[Image.Image, str, list[str]]]:
    """Each page as an image, its whole text, and the text inside each label cell."""
    document = pdfium.PdfDocument(pdf)
    pages = []
    for page in document:
        text = page.get_textpage()
        cells = []
        for index in range(PER_PAGE):
            x, y = cell_origin(index)
            cells.append(text.get_text_bounded(left=x, bottom=y, right=x + CELL_WIDTH, top=y + CELL_HEIGHT))
        pages.append((page.render(scale=RENDER_SCALE).to_pil(), text.get_text_range(), cells))
    return pages


def cell_image(page: Image.Image, index: int) -> Image.Image:
    x, y = cell_origin(index)
    top = PAGE_HEIGHT - (y + CELL_HEIGHT)
    box = (x, top, x + CELL_WIDTH, top + CELL_HEIGHT)
    return page.crop(tuple(round(v * RENDER_SCALE) for v in box))


def test_a_household_link_is_the_route_the_app_opens():
    assert household_link("https://ntm.example.vn/", "3b0f") == "https://ntm.example.vn/household/3b0f"
    assert household_link("http://127.0.0.1:8080", "x") == "http://127.0.0.1:8080/household/x"


@pytest.mark.parametrize(
    "text",
    ["https://ntm.example.vn/enrol?code=" + "A" * 43, "http://127.0.0.1:8080/household/" + str(uuid.uuid4()),
     "x", "Nguyễn Văn Đức " * 20],
)  # fmt: skip
def test_a_png_decodes_to_exactly_its_text(text):
    png = qr_png(text, scale=4)
    image = Image.open(io.BytesIO(png))
    image.load()  # a bad CRC or a short IDAT fails here
    assert image.mode == "1" and image.size == (len(qr_matrix(text)) * 4,) * 2
    assert decode(image) == [text]


def test_the_png_draws_the_matrix_with_a_white_quiet_zone_and_scale():
    text = "https://ntm.example.vn/household/" + str(uuid.uuid4())
    matrix = qr_matrix(text)
    image = Image.open(io.BytesIO(qr_png(text, scale=3))).convert("L")
    pixels = image.load()
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            assert {pixels[c * 3 + dx, r * 3 + dy] for dx in range(3) for dy in range(3)} == {0 if dark else 255}
    assert not any(matrix[0]) and not any(row[0] for row in matrix)  # quiet zone
    assert sum(map(sum, matrix)) > 0


def test_a_damaged_png_is_refused_by_pillow():
    """The test above can fail: Pillow checks the CRCs and the stream of what we write."""
    png = bytearray(qr_png("x"))
    png[-20] ^= 0xFF  # inside the IDAT data or its CRC
    with pytest.raises(Exception):
        Image.open(io.BytesIO(bytes(png))).load()


def test_a_label_sheet_of_200_households_decodes_label_by_label():
    households = [replace(h, hamlet_code="25216-03") for h in generate(200, seed=11)]
    base = "https://ntm.example.vn"
    started = time.perf_counter()
    labels = household_labels(households, base)
    pdf = label_sheet_pdf(labels)
    built = time.perf_counter() - started
    pages = render(pdf)
    assert len(pages) == -(-200 // PER_PAGE)

    links = {h.label_code: household_link(base, h.id) for h in households}
    assert len(links) == 200  # the 6 hex digits are unique here: each label is told apart
    seen: dict[str, str] = {}
    for number, (image, text, cells) in enumerate(pages):
        on_page = labels[number * PER_PAGE : (number + 1) * PER_PAGE]
        for index, cell_text in enumerate(cells):
            if index >= len(on_page):
                assert cell_text.strip() == "" and decode(cell_image(image, index)) == []
                continue
            printed = "".join(cell_text.split()).removesuffix("ntm-field")
            [link] = decode(cell_image(image, index))  # exactly one code per label
            seen[printed] = link
        for h in households:  # no personal data on any page
            assert h.head_name not in text and all(m.full_name not in text for m in h.members)
    decoding = time.perf_counter() - started - built
    assert seen == links  # every label shows its own code and its QR opens that household
    assert [label.code for label in labels] == sorted(links)
    print(f"200 labels: built in {built:.2f} s, rendered and decoded in {decoding:.2f} s, {len(pdf)} bytes")


def test_the_label_qr_is_at_least_2_cm_wide():
    text = household_link("https://ntm.example.vn", str(uuid.uuid4()))
    modules = len(qr_matrix(text))
    symbol_mm = QR_BOX * (modules - 8) / modules / 72 * 25.4
    assert symbol_mm >= 20
    assert COLUMNS * CELL_WIDTH == pytest.approx(595.28) and 8 * CELL_HEIGHT == pytest.approx(PAGE_HEIGHT)


def test_an_empty_sheet_is_one_blank_page_and_non_ascii_codes_are_refused():
    [(image, text, _)] = render(label_sheet_pdf([]))
    assert text.strip() == "" and decode(image) == []
    with pytest.raises(ValueError):
        label_sheet_pdf([Label("Ấp 3/ABC", "x")])


def test_the_pdf_is_well_formed():
    """Cross-reference offsets point at their objects, and the streams inflate."""
    pdf = label_sheet_pdf([Label("25216-03/ABCDEF", "https://ntm.example.vn/household/x")])
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    entries = pdf[xref:].split(b"\n")[3:]
    count = int(pdf[xref:].split(b"\n")[1].split()[1])
    for number, entry in enumerate(entries[: count - 1], start=1):
        offset = int(entry[:10])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    stream = pdf.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0]
    assert b" re" in zlib.decompress(stream)


def test_the_phone_build_needs_no_pillow():
    """qrcode and the standard library are enough: Pillow is blocked in a fresh interpreter."""
    script = (
        "import sys; sys.modules['PIL'] = None\n"
        "from ntm_field.qr import Label, label_sheet_pdf, qr_png\n"
        "assert qr_png('x').startswith(b'\\x89PNG')\n"
        "assert label_sheet_pdf([Label('25216-03/ABCDEF', 'http://h/household/1')]).startswith(b'%PDF')\n"
        "assert not any(m == 'PIL' or m.startswith('PIL.') for m, v in sys.modules.items() if v is not None)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
