"""Names vulture cannot see used (`make lint` runs vulture with pyproject's [tool.vulture]).

Never executed. Each group says who uses the names. A name that is really unused is deleted, not
listed here.
"""

# Response and settings models: pydantic and dataclass fields the API, the CLI or a page serialises.
token_type, refresh_expires_at  # agent_desk/api/auth.py, security/tokens.py
configured_queues, paused_seconds  # agent_desk/api/agent.py
home, result_label, met_at, working_hours_left  # pages.py, callbacks.py, deadlines.py: read by /desk and /handle
supervisions  # agent_desk/api/inbox.py: read by /handle
called_back  # agent_desk/api/wallboard.py: read by the wallboard page
caller_region_code  # agent_desk/screen_pop.py
has_recording  # agent_desk/api/calls.py
service_name, service_notice, status_notes, agency_responsible, zipcode  # Open311 GeoReport v2 fields
requested_datetime, updated_datetime, expected_datetime  # Open311
raw_answer_rate, service_level2  # call KPIs
timely_seconds  # ticketing/call_kpis.py: a threshold a Count names, read with getattr
window_start, calls_last_hour, agents_needed, predicted_service_level, predicted_asa_seconds  # staffing advice
agents_logged_in, agents_available, county_name, callback_url  # agent_desk/api/supervisor.py
suggested_departments  # agent_desk/api/tickets.py
open_on_time, category_label  # agent_desk/api/wallboard.py
wait_probability, occupancy  # agent_desk/supervision/erlang.py
state_label  # ticketing/views.py
container, peak_dbfs, mean_dbfs  # asr/audio.py: AudioInfo, AudioVerdict
played, timed_out  # ivr/channel.py: Playback, Input
ring_no_answer, complete_reason, in_call, holdtime  # ami call data and member state, as Asterisk reports them
entry_position  # ticketing/models/call_record.py: a column
handling_us  # ticketing/models/ticket_rollup.py: a column, read by name (ticketing.rollups.COUNTERS)
breakdown, hours_in_period, lead_unit, overdue_since  # agent_desk/api/reports.py, reports/views.py: read by /reports
may_be_public  # agent_desk/api/citizen.py: read by /my12345
data_type  # agent_desk/reports/xlsx.py: openpyxl writes a cell by its data type (text, never a formula)
resolution_due_at  # agent_desk/api/admin_calendar.py: read by /admin

# Closed vocabularies: every value is part of the API, used or not by the code.
WEIBO, APP  # ticketing.vocabulary.Channel
REACHED, NO_ANSWER, WRONG_NUMBER  # ticketing.models.CallbackResult

# Called by a framework or a library, by name.
api_only  # agent_desk/asgi.py: uvicorn's --factory target
dotenv_settings, file_secret_settings  # pydantic-settings passes them to settings_customise_sources
jurisdiction_id  # Open311: accepted and ignored (one jurisdiction per deployment)
impl, cache_ok, process_bind_param, process_result_value, type_annotation_map, inherit_cache  # SQLAlchemy
reverse, to_diff_tuple  # Alembic's MigrateOperation: ticketing/migrations/search_index.py
connection_lost  # asyncio.Protocol
collect  # agent_desk/metrics.py: prometheus-client reads a collector's collect()
should_exit  # uvicorn.Server, set by the tests to stop it
forgetable_actions, awaiting_actions, encoding  # bench/ami.py: Panoramisk's protocol attributes
postgres_target  # tests/ticketing/test_migrations.py: a fixture requested for its skip
PathWithoutQuery  # agent_desk/logs.py: named by import path in the logging dictConfig
