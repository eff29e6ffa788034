"""Certificates of verification (pass) and notices of non-conformity (fail): rows, QR code and PDF.

The PDF is in English: no CJK font is installed on the platform's machines (fc-list :lang=zh is empty),
so Chinese text would print as blanks. DejaVu Sans is used when present (for Ω and ±), else the PDF
core font with ASCII spellings.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
from django.utils.translation import gettext as _

ITEM_NAMES = {
    "visual_functional": "Visual and functional checks",
    "insulation_resistance": "Insulation resistance",
    "working_error": "Working error",
    "indication_error": "Indication (display) error",
    "billing_error": "Billing (payment) error",
    "clock_error": "Clock error",
}
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def item_label(item: str) -> str:
    labels = {
        "visual_functional": _("Visual and functional checks"),
        "insulation_resistance": _("Insulation resistance"),
        "working_error": _("Working error"),
        "indication_error": _("Indication (display) error"),
        "billing_error": _("Billing (payment) error"),
        "clock_error": _("Clock error"),
    }
    return labels.get(item, item)


def item_rows(record) -> list[dict]:
    """The record's items for display: label, value with unit, limit, verdict, details."""
    return rows_for(record.items)


def rows_for(items: list[dict]) -> list[dict]:
    rows = []
    for item in items:
        unit = item.get("unit") or ""
        unit = "" if unit == "-" else unit
        limit = item.get("limit")
        if limit is not None:
            limit = (f"≥ {limit} {unit}" if item["item"] == "insulation_resistance" else f"± {limit} {unit}").strip()
        rows.append({"item": item["item"], "label": item_label(item["item"]), "status": item["status"],
                     "value": f"{item['value']} {unit}".strip() if item.get("value") is not None else "",
                     "limit": limit or "", "details": item.get("details") or [], "reason": item.get("reason", ""),
                     "source": item.get("limit_source") or ""})
    return rows


def qr_svg(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, xmldecl=False, svgns=True, nl=False)
    return buffer.getvalue().decode("ascii")


def file_name(record) -> str:
    kind = "certificate" if record.passed else "non-conformity"
    return f"{kind}-{record.pile.code}-{str(record.uid)[:8]}.pdf"


def pdf_bytes(record, proof_url: str) -> bytes:
    from fpdf import FPDF  # lazy-import: fpdf2 takes about 0.3 s to load; only a PDF download needs it

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    unicode_font = DEJAVU.is_file() and DEJAVU_BOLD.is_file()
    if unicode_font:
        pdf.add_font("DejaVu", "", str(DEJAVU))
        pdf.add_font("DejaVu", "B", str(DEJAVU_BOLD))
        family = "DejaVu"
    else:
        family = "Helvetica"

    def text(value: str) -> str:
        value = str(value)
        if unicode_font:
            return value
        return value.replace("Ω", "Ohm").replace("±", "+/-").replace("≥", ">=").encode("latin-1", "replace").decode("latin-1")

    title = "Certificate of Verification" if record.passed else "Notice of Non-conformity"
    pdf.set_font(family, "B", 18)
    pdf.cell(0, 12, text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    pdf.cell(0, 6, text(f"Regulation {record.regulation} (limits data revision {record.data_revision})"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    facts = [
        ("Record", str(record.uid)),
        ("Pile", f"{record.pile.code} ({record.pile_kind.upper()}, accuracy class {record.accuracy_class})"),
        ("Operator", record.pile.station.operator.code),
        ("Station", record.pile.station.address or record.pile.station.name),
        ("Verification", "first" if record.kind == "first" else "subsequent"),
        ("Metrology institute", record.institution),
        ("Inspector", record.inspector),
        ("Test box", f"{record.box_serial} (record sequence {record.sequence})"),
        ("Measured at (UTC)", record.measured_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("Filed on the ledger", f"block {record.height}, transaction {record.tx_id[:16]}..."),
        ("Conclusion", "PASS" if record.passed else "FAIL"),
        ("Next verification due", record.next_due_on.isoformat() if record.passed else "after repair, before use"),
    ]
    if record.corrects_id:
        facts.append(("Corrects record", str(record.corrects.uid)))
    for label, value in facts:
        pdf.set_font(family, "B", 10)
        pdf.cell(50, 6, text(label))
        pdf.set_font(family, "", 10)
        pdf.multi_cell(0, 6, text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(family, "B", 10)
    widths = (62, 38, 38, 22)
    for header, w in zip(("Item", "Result", "Limit", "Verdict"), widths):
        pdf.cell(w, 7, text(header), border=1)
    pdf.ln()
    pdf.set_font(family, "", 9)
    for row in item_rows(record):
        cells = (ITEM_NAMES.get(row["item"], row["item"]), row["value"] or "-", row["limit"] or "-",
                 row["status"].replace("_", " "))
        for value, w in zip(cells, widths):
            pdf.cell(w, 7, text(value)[:40], border=1)
        pdf.ln()
    pdf.ln(4)
    qr = io.BytesIO()
    segno.make(proof_url, error="m").save(qr, kind="png", scale=4)
    qr.seek(0)
    y = pdf.get_y()
    pdf.image(qr, x=pdf.l_margin, y=y, w=35, h=35)
    pdf.set_xy(pdf.l_margin + 40, y)
    pdf.set_font(family, "", 9)
    pdf.multi_cell(0, 5, text("Scan to check this record against the consortium ledger (transaction receipt "
                              "with Merkle proof and the block's commit certificate):\n" + proof_url))
    return bytes(pdf.output())
