"""Channel variables the IVR sets on the caller's channel. The dialplan reads them; the ones the AMI
client reads back live in `ticketing.vocabulary`, the contract between the two adapters."""

from __future__ import annotations

from ticketing.vocabulary import HOTLINE_DRAFT_ID, HOTLINE_TICKET_ID, IVR_PATH, IVR_RESULT

__all__ = ["HOTLINE_DRAFT_ID", "HOTLINE_PRIORITY", "HOTLINE_QUEUE", "HOTLINE_SURVEY", "HOTLINE_TICKET_ID",
           "IVR_PATH", "IVR_RESULT", "QUEUE_PRIO", "RESULTS"]

HOTLINE_QUEUE = "HOTLINE_QUEUE"  # queue to join after AGI(); empty: do not queue, hang up
HOTLINE_PRIORITY = "HOTLINE_PRIORITY"  # the caller's queue priority
QUEUE_PRIO = "QUEUE_PRIO"  # Asterisk's own Queue() priority variable, set to HOTLINE_PRIORITY
HOTLINE_SURVEY = "HOTLINE_SURVEY"  # satisfied | basically_satisfied | unsatisfied

RESULTS = ("report", "progress", "enterprise", "agent", "message")
