"""Admin metrics (SPEC §9, §12): periods, KPI definitions and figures, alert rules, console tables.

- `periods`: the date filter in Europe/Paris days (pure);
- `definitions`: the eight KPIs, each defined by its docstring, and their shaping (pure, pandas);
- `kpis`: the figures aggregated in PostgreSQL, the overview, the funnel, daily series and CSV;
- `alerts`: the alert rules (pure) and the facts they read;
- `listings`: the console's paged tables and their CSV exports.
"""
