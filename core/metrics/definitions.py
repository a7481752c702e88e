"""The eight KPIs of the admin console (SPEC §9), each defined once — in its docstring.

Pure: every KPI is a function of one period's aggregated figures (computed in SQL by
`core.metrics.kpis`); the docstring is the definition shown in the tile's tooltip, in the API
(`definition`) and in the README, so the three cannot drift apart. A KPI whose denominator is zero
is `None` (shown "—"), never a division error; counts of an empty period are 0.

Figures of one period (keys of the mapping each KPI reads):
  booked, booking_patients, completed, no_show, booked_minutes, offered_minutes,
  net_revenue_cents, paying_accounts, held, held_paid, new_patients.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

FIGURES = ("booked", "booking_patients", "completed", "no_show", "booked_minutes", "offered_minutes",
           "net_revenue_cents", "paying_accounts", "held", "held_paid", "new_patients")
# Minutes the default template offers a doctor on a day without explicit slots: 10:00–21:00 (SPEC §3).
TEMPLATE_MINUTES_PER_DAY = 11 * 60


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator ÷ denominator, or None when there is nothing to divide by."""
    if not denominator:
        return None
    return float(numerator) / float(denominator)


def booked(f: Mapping) -> int:
    """Appointments that became paid in the period, counted at the moment the payment (card or
    credit) confirmed them — the `paid` funnel event — not at their start time. Each appointment
    counts once, in the period it was paid, even if it was later cancelled or refunded."""
    return int(f["booked"])


def completed(f: Mapping) -> int:
    """Consultations marked completed whose start time falls in the period."""
    return int(f["completed"])


def no_show_rate(f: Mapping) -> float | None:
    """No-shows ÷ (completed + no-shows), over consultations whose start time falls in the period.
    Cancelled and still-upcoming appointments are left out. "—" when no consultation has ended
    either way."""
    return ratio(f["no_show"], f["completed"] + f["no_show"])


def arpa(f: Mapping) -> int | None:
    """Average revenue per paying account, in cents: net revenue (card payments that succeeded, for
    visits and plans, minus what was refunded of them) ÷ distinct accounts with at least one such
    payment, by the time the payment was made. Consultations paid with credit are not revenue
    again (the plan or the earlier payment was). A refund counts against the period of the payment
    it returns. "—" without any paying account."""
    value = ratio(f["net_revenue_cents"], f["paying_accounts"])
    return None if value is None else round(value)


def appointments_per_patient(f: Mapping) -> float | None:
    """Booked appointments ÷ distinct patients who booked them, in the period (see Booked)."""
    return ratio(f["booked"], f["booking_patients"])


def doctor_utilisation(f: Mapping) -> float | None:
    """Booked minutes ÷ offered minutes, over appointments starting in the period. Booked: paid,
    confirmed, completed and no-show appointments (the doctor's time was taken). Offered, per doctor
    and per day of the period (Europe/Paris days, from the day the doctor joined): the minutes of
    their available explicit slots that day, or on a day without any, their weekly hours for that
    weekday (default 11 hours, 10:00–21:00) less the slots they turned off. Online/Offline and Cal.com busy times
    are not history we keep, so they are not subtracted."""
    return ratio(f["booked_minutes"], f["offered_minutes"])


def booking_conversion(f: Mapping) -> float | None:
    """Of the bookings started in the period — appointments whose time a patient held (the
    `slot_held` funnel event) — the share that got paid, whenever the payment came. A cohort rate,
    so it never exceeds 100 %; holds of the last 15 minutes may still be paid."""
    return ratio(f["held_paid"], f["held"])


def new_patients(f: Mapping) -> int:
    """Patient accounts created in the period."""
    return int(f["new_patients"])


@dataclass(frozen=True)
class Kpi:
    key: str  # camelCase, the API's name
    label: str
    unit: str  # count | ratio | cents | decimal
    compute: Callable[[Mapping], float | int | None]
    higher_is_better: bool = True

    @property
    def definition(self) -> str:
        return " ".join(inspect.getdoc(self.compute).split())


KPIS: tuple[Kpi, ...] = (
    Kpi("booked", "Booked", "count", booked),
    Kpi("completed", "Completed", "count", completed),
    Kpi("noShowRate", "No-show %", "ratio", no_show_rate, higher_is_better=False),
    Kpi("arpa", "ARPA", "cents", arpa),
    Kpi("appointmentsPerPatient", "Appointments per patient", "decimal", appointments_per_patient),
    Kpi("doctorUtilisation", "Doctor utilisation", "ratio", doctor_utilisation),
    Kpi("bookingConversion", "Booking conversion", "ratio", booking_conversion),
    Kpi("newPatients", "New patients", "count", new_patients),
)
KPI_BY_KEY = {k.key: k for k in KPIS}


def empty_figures() -> dict[str, float]:
    return dict.fromkeys(FIGURES, 0)


def shape_overview(current: Mapping, previous: Mapping) -> pd.DataFrame:
    """One row per KPI: value, previous, change (same unit; points for ratios) and change_ratio
    (relative change, None when the previous value is 0 or missing)."""
    figures = pd.DataFrame([{**empty_figures(), **dict(current)}, {**empty_figures(), **dict(previous)}],
                           index=["current", "previous"]).fillna(0)
    rows = []
    for kpi in KPIS:
        value, before = kpi.compute(figures.loc["current"]), kpi.compute(figures.loc["previous"])
        change = None if value is None or before is None else value - before
        change_ratio = None if change is None or not before else change / before
        rows.append({"key": kpi.key, "label": kpi.label, "unit": kpi.unit, "value": value, "previous": before,
                     "change": change, "change_ratio": change_ratio, "higher_is_better": kpi.higher_is_better,
                     "definition": kpi.definition})
    frame = pd.DataFrame(rows).set_index("key", drop=False)
    return frame.astype(object).where(frame.notna(), None)


def format_value(unit: str, value: float | None) -> str:
    """How a tile shows a value: "—" for none, "12.5 %", "€35.00", "1.25", "1,204"."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    if unit == "cents":
        return f"€{value / 100:,.2f}"
    if unit == "decimal":
        return f"{value:.2f}"
    return f"{int(value):,}"


def format_change(unit: str, change: float | None, change_ratio: float | None) -> str:
    """'+2', '−1.5 pts', '+12 %', 'new' (from zero) or '—' (nothing to compare)."""
    if change is None:
        return "—"
    if change == 0 or (unit == "ratio" and round(abs(change) * 100, 1) == 0):
        return "no change"
    sign = "+" if change > 0 else "−"
    if unit == "ratio":
        return f"{sign}{abs(change) * 100:.1f} pts"
    if change_ratio is None:
        return "new" if change > 0 else "—"
    return f"{sign}{abs(change_ratio) * 100:.0f} %"
