"""PDF rendering of documents, receipts and credit notes (SPEC §18) with fpdf2, and the QR code of a
verification link with segno — both maintained, pure-Python libraries.

Rendering is a pure function of the stored structured data: the same row always gives the same
text, so a document is rendered on each download instead of being stored twice. The PDF core fonts
(Helvetica) need no font file; characters outside Latin-1 (e.g. Polish ł) are written without
their accent rather than dropped.
"""

from __future__ import annotations

import unicodedata
from datetime import date

import segno
from fpdf import FPDF

from core import i18n
from core.i18n import N_

TITLES = {"summary": N_("Consultation summary"), "prescription": N_("Prescription"), "sick_note": N_("Sick note"),
          "receipt": N_("Receipt"), "credit_note": N_("Credit note")}
VAT_MENTION = "TVA non applicable - art. 261-4-1° du CGI"
INK, MUTED, ACCENT = (28, 36, 48), (74, 85, 104), (10, 90, 212)


def latin1(value: object) -> str:
    """Text the core fonts can draw: Latin-1 as is, anything else without its accents (ł → l)."""
    text = str(value if value is not None else "")
    out = []
    for ch in text:
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
            out.append(plain or {"ł": "l", "Ł": "L", "–": "-", "—": "-", "’": "'", "€": "EUR"}.get(ch, "?"))
    return "".join(out)


def format_day(value: str | date, language: str = "en") -> str:
    """03/12/2026 in English and French, 03.12.2026 in German (SPEC §20)."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    separator = "." if i18n.language_of(language) == "de" else "/"
    return f"{day.day:02d}{separator}{day.month:02d}{separator}{day.year}"


def format_cents(cents: int, currency: str = "EUR") -> str:
    whole, part = divmod(abs(int(cents)), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}{whole:,}".replace(",", " ") + f",{part:02d} {'EUR' if currency == 'EUR' else currency}"


class _Page(FPDF):
    def __init__(self, title: str, footer: str):
        super().__init__(format="A4")
        self._footer_text = footer
        self.set_title(latin1(title))
        self.set_author("Doktu")
        self.set_creator("Doktu")
        self.set_auto_page_break(True, margin=22)
        self.set_margins(18, 18, 18)
        self.add_page()

    def footer(self):
        self.set_y(-16)
        self.set_font("Helvetica", size=8)
        self.set_text_color(*MUTED)
        self.multi_cell(0, 4, latin1(self._footer_text), align="C")

    def line_text(self, text: str, *, size: int = 10, bold: bool = False, color=INK, height: float = 5.5):
        self.set_font("Helvetica", "B" if bold else "", size)
        self.set_text_color(*color)
        self.multi_cell(0, height, latin1(text), new_x="LMARGIN", new_y="NEXT")

    def label_value(self, label: str, value: str):
        self.set_font("Helvetica", "B", 10)
        self.set_text_color(*MUTED)
        self.cell(48, 6, latin1(label))
        self.set_font("Helvetica", "", 10)
        self.set_text_color(*INK)
        self.multi_cell(0, 6, latin1(value), new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str):
        self.ln(3)
        self.line_text(text, size=12, bold=True, color=ACCENT, height=7)

    def qr(self, url: str, x: float, y: float, size: float = 32):
        """The QR code drawn as vector squares: crisp at any zoom, no image library involved."""
        matrix = segno.make(url, error="m").matrix
        n = len(matrix)
        module = size / n
        self.set_fill_color(0, 0, 0)
        for r, row in enumerate(matrix):
            for c, dark in enumerate(row):
                if dark:
                    self.rect(x + c * module, y + r * module, module, module, style="F")


def _letterhead(pdf: _Page, title: str, doctor: dict | None, issued_on: str, language: str = "en"):
    pdf.set_font("Helvetica", "B", 18)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 9, "Doktu", new_x="LMARGIN", new_y="NEXT")
    pdf.line_text(title, size=15, bold=True, height=8)
    if doctor:
        pdf.line_text(doctor["name"], bold=True)
        pdf.line_text(doctor["specialty"], color=MUTED)
        pdf.line_text(f"RPPS {doctor['rpps']}", color=MUTED)
    pdf.line_text(i18n.translate(language, "Date: %(date)s", date=format_day(issued_on, language)), color=MUTED)


def render_document(kind: str, content: dict, verification_code: str, verify_url: str, language: str = "en") -> bytes:
    """A summary, prescription or sick note: doctor (name, specialty, RPPS), date, patient (name,
    date of birth), the body, and the verification code with its QR code (SPEC §18), in the
    patient's language (SPEC §20: the labels; what the doctor wrote stays as written)."""
    title = i18n.translate(language, TITLES[kind])
    pdf = _Page(title, i18n.translate(language, "Verify this document at %(url)s (code %(code)s). Issued through Doktu "
                                                "tele-consultation.", url=verify_url, code=verification_code))
    top = pdf.get_y()
    pdf.qr(verify_url, x=pdf.w - pdf.r_margin - 32, y=top)
    _letterhead(pdf, title, content["doctor"], content["issuedOn"], language)
    pdf.set_y(max(pdf.get_y(), top + 36))
    patient = content["patient"]
    pdf.heading(i18n.translate(language, "Patient"))
    pdf.label_value(i18n.translate(language, "Name"), patient["name"])
    pdf.label_value(i18n.translate(language, "Date of birth"),
                    format_day(patient["dateOfBirth"], language) if patient.get("dateOfBirth")
                    else i18n.translate(language, "Not given"))
    pdf.label_value(i18n.translate(language, "Consultation"), format_day(content["consultationOn"], language))
    body = content["body"]
    if kind == "summary":
        pdf.heading(i18n.translate(language, "Summary"))
        pdf.line_text(body["text"])
    elif kind == "prescription":
        pdf.heading(i18n.translate(language, "Medicines"))
        for n, line in enumerate(body["lines"], start=1):
            pdf.line_text(f"{n}. {line['medicine']}", bold=True)
            pdf.line_text(i18n.translate(language, "Dose: %(dose)s · Frequency: %(frequency)s · Duration: %(duration)s",
                                         dose=line["dose"], frequency=line["frequency"], duration=line["duration"]))
            if line.get("instructions"):
                pdf.line_text(i18n.translate(language, "Instructions: %(text)s", text=line["instructions"]),
                              color=MUTED)
            pdf.ln(1)
    elif kind == "sick_note":
        pdf.heading(i18n.translate(language, "Sick note"))
        pdf.line_text(i18n.translate(
            language, "I certify that the patient named above is unfit for work from %(start)s to %(end)s inclusive.",
            start=format_day(body["from"], language), end=format_day(body["to"], language)))
        if body.get("reason"):
            pdf.line_text(body["reason"], color=MUTED)
    pdf.heading(i18n.translate(language, "Verification"))
    pdf.label_value(i18n.translate(language, "Code"), verification_code)
    pdf.label_value(i18n.translate(language, "Check at"), verify_url)
    pdf.ln(4)
    pdf.line_text(i18n.translate(language, "Electronically issued by %(doctor)s.", doctor=content["doctor"]["name"]),
                  color=MUTED, size=9)
    return bytes(pdf.output())


def render_receipt(receipt: dict) -> bytes:
    """A receipt or a credit note: number, seller, doctor and RPPS, patient, date, amount and the
    VAT exemption mention (SPEC §18); a credit note names the receipt it refers to."""
    kind = receipt["kind"]
    title = f"{TITLES[kind]} {receipt['number']}"
    d = receipt["details"]
    pdf = _Page(title, f"{d['seller']['name']} · {d['seller']['address']}")
    _letterhead(pdf, title, None, receipt["issuedOn"])
    pdf.heading("Seller")
    pdf.line_text(d["seller"]["name"], bold=True)
    pdf.line_text(d["seller"]["address"], color=MUTED)
    if d.get("doctor"):
        pdf.heading("Consultation")
        pdf.label_value("Doctor", d["doctor"]["name"])
        pdf.label_value("RPPS", d["doctor"]["rpps"])
        if d.get("consultationOn"):
            pdf.label_value("Date", format_day(d["consultationOn"]))
    pdf.heading("Patient")
    pdf.label_value("Name", d["patient"]["name"])
    pdf.heading("Amount")
    pdf.label_value("Description", d["description"])
    if kind == "credit_note":
        pdf.label_value("Refers to receipt", d["refersTo"])
        pdf.label_value("Refunded", format_cents(receipt["amountCents"], receipt["currency"]))
    else:
        pdf.label_value("Paid by card", format_cents(receipt["amountCents"], receipt["currency"]))
    pdf.label_value("Total", format_cents(receipt["amountCents"], receipt["currency"]))
    pdf.ln(3)
    pdf.line_text(VAT_MENTION, size=9, color=MUTED)
    return bytes(pdf.output())
