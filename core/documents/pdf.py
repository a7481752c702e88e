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
from babel import dates
from fpdf import FPDF

from core import i18n
from core.i18n import N_

TITLES = {"summary": N_("Consultation summary"), "prescription": N_("Prescription"), "sick_note": N_("Sick note"),
          "receipt": N_("Receipt"), "credit_note": N_("Credit note")}
VAT_MENTION = "TVA non applicable - art. 261-4-1° du CGI"
INK, MUTED, ACCENT = (28, 36, 48), (74, 85, 104), (10, 90, 212)
CORE_ENCODING = "windows-1252"  # Latin-1 plus €, ’, – and — (fpdf2's core fonts can use it)


def latin1(value: object) -> str:
    """Text the core fonts can draw (Windows-1252, so € and typographic quotes too): anything else
    without its accents (ł → l)."""
    text = str(value if value is not None else "")
    out = []
    for ch in text:
        try:
            ch.encode(CORE_ENCODING)
            out.append(ch)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", ch).encode(CORE_ENCODING, "ignore").decode(CORE_ENCODING)
            out.append(plain or {"ł": "l", "Ł": "L"}.get(ch, "?"))
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
        self.core_fonts_encoding = CORE_ENCODING
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

    def pair(self, label: str, beneath: str | None, value: str):
        """A label (and its translation beneath, smaller) with its value beside, on one row."""
        top = self.get_y()
        self.set_font("Helvetica", "B", 10)
        self.set_text_color(*MUTED)
        self.multi_cell(52, 5.5, latin1(label), new_x="LMARGIN", new_y="NEXT")
        if beneath:
            self.set_font("Helvetica", "I", 8)
            self.multi_cell(52, 4, latin1(beneath), new_x="LMARGIN", new_y="NEXT")
        bottom = self.get_y()
        self.set_xy(self.l_margin + 52, top)
        self.set_font("Helvetica", "", 10)
        self.set_text_color(*INK)
        self.multi_cell(0, 5.5, latin1(value), new_x="LMARGIN", new_y="NEXT")
        self.set_y(max(bottom, self.get_y()) + 0.8)

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


# Receipts and credit notes (SPEC §18, §20): a French seller's document, so its labels are French
# (the legal text), with the patient's own language beneath when it is not French. Each label is an
# English message of the catalogs: its French translation is the legal label.
SELLER_LANGUAGE = "fr"
RECEIPT_TITLES = {"receipt": N_("Invoice"), "credit_note": N_("Credit note")}
PAYMENT = N_("Payment")  # a payment with neither appointment nor plan
VAT_GLOSS = N_("VAT not applicable (article 261-4-1° of the French tax code)")
PLAN_DESCRIPTION = N_("Doktu plan, one month of consultation credit")  # as stored on plan receipts


def _receipt_money(cents: int, currency: str) -> str:
    """Babel's French amount ("1 234,50 €"), with plain spaces (the core fonts have no thin space)."""
    return i18n.format_money(cents, currency, SELLER_LANGUAGE).replace("\u202f", " ").replace("\xa0", " ")


def _receipt_day(value: str | date) -> str:
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return dates.format_date(day, "short", locale=i18n.babel_locale(SELLER_LANGUAGE))  # 03/03/2026


def _description(d: dict, kind: str, language: str) -> str:
    """What was sold, from the stored facts, in `language` (the stored English text is the fallback)."""
    if kind == "credit_note" and d.get("refersTo"):
        return i18n.translate(language, "Refund of receipt %(number)s", number=d["refersTo"])
    if d.get("doctor") and d.get("consultationOn"):
        return i18n.translate(language, "Video consultation with %(doctor)s on %(date)s",
                              doctor=d["doctor"]["name"], date=_receipt_day(d["consultationOn"]))
    if d.get("description") == PLAN_DESCRIPTION:
        return i18n.translate(language, PLAN_DESCRIPTION)
    if d.get("description") == PAYMENT:
        return i18n.translate(language, PAYMENT)
    return d.get("description", "")


def render_receipt(receipt: dict, language: str = SELLER_LANGUAGE) -> bytes:
    """A receipt or a credit note: number, seller, doctor and RPPS, patient, date, amount and the
    VAT exemption mention (SPEC §18); a credit note names the receipt it refers to. French, with
    `language` (the patient's) beneath each label when it is not French (SPEC §20)."""
    language = i18n.language_of(language)
    second = language != SELLER_LANGUAGE

    def fr(message: str, **values) -> str:
        return i18n.translate(SELLER_LANGUAGE, message, **values)

    def theirs(message: str, **values) -> str | None:
        """The patient's word, when it differs from the French one ("Patient" is both)."""
        word = i18n.translate(language, message, **values) if second else None
        return word if word != fr(message, **values) else None

    def both(message: str) -> str:
        return f"{fr(message)} / {theirs(message)}" if theirs(message) else fr(message)

    kind = receipt["kind"]
    d = receipt["details"]
    title = f"{fr(RECEIPT_TITLES[kind])} {receipt['number']}"
    pdf = _Page(title, f"{d['seller']['name']} · {d['seller']['address']}")
    pdf.set_lang(SELLER_LANGUAGE)
    pdf.set_font("Helvetica", "B", 18)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 9, "Doktu", new_x="LMARGIN", new_y="NEXT")
    pdf.line_text(title, size=15, bold=True, height=8)
    if second:
        pdf.line_text(theirs(RECEIPT_TITLES[kind]), size=11, color=MUTED)
    pdf.ln(2)
    pdf.pair(fr(N_("Date of issue")), theirs(N_("Date of issue")), _receipt_day(receipt["issuedOn"]))
    pdf.heading(both(N_("Seller")))
    pdf.line_text(d["seller"]["name"], bold=True)
    pdf.line_text(d["seller"]["address"], color=MUTED)
    if d.get("doctor"):
        pdf.heading(both(N_("Consultation")))
        pdf.pair(fr(N_("Doctor")), theirs(N_("Doctor")), d["doctor"]["name"])
        pdf.pair("RPPS", None, d["doctor"]["rpps"])
        if d.get("consultationOn"):
            pdf.pair(fr(N_("Consultation date")), theirs(N_("Consultation date")), _receipt_day(d["consultationOn"]))
    pdf.heading(both(N_("Patient")))
    pdf.pair(fr(N_("Name")), theirs(N_("Name")), d["patient"]["name"])
    pdf.heading(both(N_("Amount")))
    description = _description(d, kind, SELLER_LANGUAGE)
    if second:
        description += "\n" + _description(d, kind, language)
    pdf.pair(fr(N_("Description")), theirs(N_("Description")), description)
    amount = _receipt_money(receipt["amountCents"], receipt["currency"])
    if kind == "credit_note":
        pdf.pair(fr(N_("Refers to receipt")), theirs(N_("Refers to receipt")), d["refersTo"])
        pdf.pair(fr(N_("Refunded")), theirs(N_("Refunded")), amount)
    else:
        pdf.pair(fr(N_("Paid by card")), theirs(N_("Paid by card")), amount)
    pdf.pair(fr(N_("Total")), theirs(N_("Total")), amount)
    pdf.ln(3)
    pdf.line_text(VAT_MENTION, size=9, color=MUTED)
    if second:
        pdf.line_text(theirs(VAT_GLOSS), size=8, color=MUTED)
    return bytes(pdf.output())
