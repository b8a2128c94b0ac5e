"""Channel variables the IVR sets on the caller's channel. The dialplan and the AMI client read them."""

from __future__ import annotations

IVR_RESULT = "IVR_RESULT"  # report | progress | enterprise | agent | message | survey
IVR_PATH = "IVR_PATH"  # the steps taken, e.g. greeting>menu:1>record
HOTLINE_DRAFT_ID = "HOTLINE_DRAFT_ID"  # draft made from the caller's recording (screen pop)
HOTLINE_TICKET_ID = "HOTLINE_TICKET_ID"  # ticket linked to the call (repeat caller, progress query)
HOTLINE_QUEUE = "HOTLINE_QUEUE"  # queue to join after AGI(); empty: do not queue, hang up
HOTLINE_PRIORITY = "HOTLINE_PRIORITY"  # the caller's queue priority
QUEUE_PRIO = "QUEUE_PRIO"  # Asterisk's own Queue() priority variable, set to HOTLINE_PRIORITY
HOTLINE_SURVEY = "HOTLINE_SURVEY"  # satisfied | basically_satisfied | unsatisfied

RESULTS = ("report", "progress", "enterprise", "agent", "message", "survey")
MAX_PATH_LENGTH = 128  # call_records.ivr_path
