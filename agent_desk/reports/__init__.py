"""Supervisor reports (`/reports`): history by hour and day, staffing, tickets, satisfaction, hot
spots; for any date range, drilled down from the province to a city, a county or a unit, always
within the caller's own scope. Every figure comes from the KPI modules (`ticketing.call_kpis`,
`ticketing.kpi`); this package only chooses what to ask them and labels the answers."""
