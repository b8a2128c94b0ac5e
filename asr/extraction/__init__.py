"""Mandarin text → draft-ticket fields: category, place, address, spoken numbers, department, summary."""
