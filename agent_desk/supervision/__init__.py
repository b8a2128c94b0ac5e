"""Supervisor analytics: telephony KPIs, Erlang C staffing advice, hot-spot alerts."""
