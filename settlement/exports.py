"""Statement exports: CSV and PDF (fpdf2 core fonts, Latin text only)."""

from __future__ import annotations

import csv
import io

from settlement.statements import Money

HEADER = ["pile", "band", "energy_wh", "held_wh", "tariff_price_cny_per_kwh", "tariff_amount_cny", "price_cny_per_kwh",
          "amount_cny", "disputed"]


def _rows(statement, items, money: Money | None):
    priced = {(i.pile, i.band): (p, a) for i, p, a in (money.lines if money else [])}
    for item in items:
        price, amount = priced.get((item.pile.code, item.band), ("", ""))
        yield [item.pile.code, item.band, item.energy_wh, sum(item.excluded.values()), item.tariff_price,
               item.tariff_amount_cny, price, amount, item.disputed]


def statement_csv(statement, items, money: Money | None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["statement", str(statement.uid), "period", statement.period, "area", statement.area.code,
                     "operator", statement.operator.code, "grid", statement.grid.code, "status", statement.status])
    writer.writerow(HEADER)
    for row in _rows(statement, items, money):
        writer.writerow(row)
    if money:
        writer.writerow(["subtotal", money.subtotal, "discount", money.discount, "total", money.total])
    return out.getvalue().encode()


def _latin(text) -> str:
    return str(text).encode("latin-1", "replace").decode("latin-1")


def statement_pdf(statement, items, money: Money | None, *, progress=None) -> bytes:
    from fpdf import FPDF  # lazy-import: fpdf2 takes over a second to import; only a PDF export needs it

    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _latin(f"Settlement statement {statement.period} - {statement.area.code}"), new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(0, 6, _latin(f"Operator {statement.operator.code} / grid company {statement.grid.code} / "
                          f"status {statement.status} / closed at block {statement.height} / id {statement.uid}"),
             new_x="LMARGIN", new_y="NEXT")
    widths = [40, 20, 28, 28, 30, 30, 30, 30, 40]
    pdf.set_font("Helvetica", "B", 8)
    for w, h in zip(widths, HEADER):
        pdf.cell(w, 6, h, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=8)
    for n, row in enumerate(_rows(statement, items, money)):
        for w, value in zip(widths, row):
            pdf.cell(w, 6, _latin(value)[:40], border=1)
        pdf.ln()
        if progress and n % 200 == 0:
            progress(n)
    if money:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, _latin(f"Subtotal {money.subtotal} CNY, discount {money.discount} CNY, total {money.total} CNY"))
    return bytes(pdf.output())
