"""Every call flow over loopback, against a simulated Asterisk channel and a scripted caller."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, time

import pytest

from ivr.settings import IvrSettings, ServiceHours, ServiceWindow
from tests.ivr.conftest import Harness, handling_ticket
from tests.ivr.peer import Action, HangUp, Listen, Press, Silence, SimulatedChannel, Speak
from ticketing.vocabulary import Rating, TicketState

pytestmark = pytest.mark.anyio

UID_FILE = "/var/spool/asterisk/hotline/1795868652-16"


def media(commands: list[str]) -> list[str]:
    return [c for c in commands if not c.startswith(("SET VARIABLE", "GET VARIABLE", "GET FULL VARIABLE"))]


# ---- 1 + 2: greeting and menu ----------------------------------------------------------------


async def test_report_a_problem(harness: Harness) -> None:
    channel = SimulatedChannel([Listen(), Press("1"), Speak(samples=75118)])
    log = await harness.call("ivr", channel)
    assert media(log.commands) == [
        "ANSWER",
        'STREAM FILE hotline/greeting "1230"',
        "GET DATA hotline/menu 10000 1",
        'STREAM FILE hotline/report ""',
        f'RECORD FILE {UID_FILE} wav "#" 60000 0 BEEP s=3',
        'STREAM FILE hotline/report-thanks ""',
    ]
    assert channel.variables == {
        "HOTLINE_DRAFT_ID": "501", "HOTLINE_QUEUE": "hotline-12345", "HOTLINE_PRIORITY": "0",
        "QUEUE_PRIO": "0", "IVR_PATH": "greeting>menu:1>record:timeout", "IVR_RESULT": "report",
    }
    (audio,) = harness.backend.recordings
    assert audio.path == UID_FILE + ".wav" and audio.format == "wav"
    assert audio.duration_ms == 75118 * 1000 // 8000
    assert (audio.callback_requested, audio.purpose, audio.ended_by) == (False, "report", "timeout")
    assert (audio.call.linkedid, audio.call.caller_number, audio.call.server) == (
        "1795868652.16", "13800138000", "pbx0")
    assert log.commands.index('GET FULL VARIABLE "${CHANNEL(linkedid)}"') < log.commands.index(
        'SET VARIABLE HOTLINE_DRAFT_ID "501"')


async def test_report_ended_with_the_pound_key(harness: Harness) -> None:
    channel = SimulatedChannel([Press("1"), Speak(samples=16000, end_key="#")])
    await harness.call("ivr", channel)
    assert channel.variables["IVR_PATH"] == "greeting>menu:1>record"  # barge-in on the greeting
    assert harness.backend.recordings[0].ended_by == "dtmf"


async def test_repeat_caller_gets_priority_and_the_ticket_is_linked(harness: Harness) -> None:
    harness.backend.open_by_caller["13800138000"] = handling_ticket(ticket_id=77)
    channel = SimulatedChannel([Press("1"), Speak()])
    await harness.call("ivr", channel)
    assert channel.variables["HOTLINE_TICKET_ID"] == "77"
    assert channel.variables["QUEUE_PRIO"] == channel.variables["HOTLINE_PRIORITY"] == "10"
    assert channel.variables["IVR_PATH"] == "greeting>menu:1>repeat>record:timeout"
    assert harness.backend.recordings[0].open_ticket_id == 77


async def test_nothing_recorded_means_no_draft_but_still_the_queue(harness: Harness) -> None:
    channel = SimulatedChannel([Press("1"), Silence()])
    await harness.call("ivr", channel)
    assert harness.backend.recordings == [] and "HOTLINE_DRAFT_ID" not in channel.variables
    assert channel.variables["IVR_RESULT"] == "report" and channel.variables["HOTLINE_QUEUE"] == "hotline-12345"


async def test_asr_hand_over_failure_still_queues_the_caller(harness: Harness) -> None:
    harness.backend.fail_submit = True
    channel = SimulatedChannel([Press("1"), Speak()])
    await harness.call("ivr", channel)
    assert channel.variables["IVR_RESULT"] == "report"
    assert channel.variables["IVR_PATH"].endswith("record:timeout>draft:failed")


async def test_enterprise_line(harness: Harness) -> None:
    channel = SimulatedChannel([Listen(), Press("3")])
    log = await harness.call("ivr", channel)
    assert channel.variables["IVR_RESULT"] == "enterprise"
    assert channel.variables["HOTLINE_QUEUE"] == "hotline-enterprise" and channel.variables["QUEUE_PRIO"] == "5"
    assert media(log.commands)[-1] == 'STREAM FILE hotline/enterprise ""'


@pytest.mark.parametrize(("caller", "path"), [
    ([Listen(), Press("0")], "greeting>menu:0"),
    ([Listen(), Silence()], "greeting>menu:timeout"),
    ([Listen(), Press("#")], "greeting>menu:timeout"),  # "#" alone: GET DATA returns no digits
])
async def test_agent(harness: Harness, caller: list, path: str) -> None:  # type: ignore[type-arg]
    channel = SimulatedChannel(caller)
    await harness.call("ivr", channel)
    assert channel.variables["IVR_RESULT"] == "agent" and channel.variables["IVR_PATH"] == path
    assert channel.variables["HOTLINE_QUEUE"] == "hotline-12345"


async def test_invalid_input_is_retried_three_times_then_an_agent(harness: Harness) -> None:
    channel = SimulatedChannel([Listen(), Press("7"), Press("8"), Press("9"), Press("5")])
    log = await harness.call("ivr", channel)
    assert channel.variables["IVR_PATH"] == "greeting>menu:7>menu:8>menu:9>menu:5>retries"
    assert channel.variables["IVR_RESULT"] == "agent"
    assert media(log.commands).count('STREAM FILE hotline/invalid ""') == 3
    assert media(log.commands).count("GET DATA hotline/menu 10000 1") == 4


async def test_invalid_then_valid(harness: Harness) -> None:
    channel = SimulatedChannel([Listen(), Press("8"), Press("3")])
    await harness.call("ivr", channel)
    assert channel.variables["IVR_PATH"] == "greeting>menu:8>menu:3"


async def test_menu_keys_retries_and_timeouts_are_configurable(harness: Harness) -> None:
    harness.settings = IvrSettings.model_validate({"menu": {"report": "5", "agent": "9", "timeout_ms": 3000,
                                                            "retries": 1}})
    channel = SimulatedChannel([Listen(), Press("1"), Press("1")])
    log = await harness.call("ivr", channel)
    assert 'STREAM FILE hotline/greeting "5239"' in log.commands
    assert "GET DATA hotline/menu 3000 1" in log.commands
    assert channel.variables["IVR_PATH"] == "greeting>menu:1>menu:1>retries"


async def test_after_hours_goes_straight_to_a_message(harness: Harness) -> None:
    harness.settings = IvrSettings(hours=ServiceHours(windows=[ServiceWindow(days=[1, 2, 3, 4, 5],
                                                                             start=time(8), end=time(18))]))
    channel = SimulatedChannel([Speak(samples=24000)])
    log = await harness.call("ivr", channel)
    assert media(log.commands) == [
        "ANSWER", 'STREAM FILE hotline/greeting ""', 'STREAM FILE hotline/closed ""',
        'STREAM FILE hotline/message ""', f'RECORD FILE {UID_FILE}-message wav "#" 120000 0 BEEP s=3',
        'STREAM FILE hotline/message-thanks ""',
    ]
    assert channel.variables["IVR_RESULT"] == "message" and "HOTLINE_QUEUE" not in channel.variables
    assert channel.variables["IVR_PATH"] == "greeting>closed>message>record:timeout"
    (audio,) = harness.backend.recordings
    assert audio.callback_requested and audio.purpose == "message"


async def test_in_hours_on_a_weekday(harness: Harness) -> None:
    harness.settings = IvrSettings(hours=ServiceHours(windows=[ServiceWindow(days=[1, 2, 3, 4, 5],
                                                                             start=time(8), end=time(18))]))
    harness.clock = lambda: datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 10:00 Shanghai
    channel = SimulatedChannel([Press("0")])
    await harness.call("ivr", channel)
    assert channel.variables["IVR_RESULT"] == "agent"


async def test_long_wait_offers_a_message(harness: Harness) -> None:
    async def estimate(queue: str) -> float | None:
        return 600.0 if queue == "hotline-12345" else None

    harness.wait_estimator = estimate
    channel = SimulatedChannel([Press("0"), Press("9"), Speak()])
    await harness.call("ivr", channel)
    assert channel.variables["IVR_RESULT"] == "message" and "HOTLINE_QUEUE" not in channel.variables
    assert channel.variables["IVR_PATH"] == "greeting>menu:0>longwait:9>message>record:timeout"
    assert harness.backend.recordings[0].callback_requested


async def test_long_wait_declined_keeps_the_queue(harness: Harness) -> None:
    async def estimate(queue: str) -> float | None:
        return 600.0

    harness.wait_estimator = estimate
    channel = SimulatedChannel([Press("3"), Silence()])
    await harness.call("ivr", channel)
    assert channel.variables["IVR_RESULT"] == "enterprise"
    assert channel.variables["IVR_PATH"] == "greeting>menu:3>longwait:timeout"


# ---- 4: progress ---------------------------------------------------------------------------------


async def test_progress_read_back(harness: Harness) -> None:
    harness.backend.tickets["20261128000123"] = handling_ticket()
    channel = SimulatedChannel([Listen(), Press("2"), Press("20261128000123#"), Silence()])
    log = await harness.call("ivr", channel)
    assert media(log.commands)[3:] == [
        "GET DATA hotline/progress-enter 8000 20",
        'STREAM FILE hotline/progress-ticket ""',
        'SAY DIGITS 20261128000123 ""',
        'STREAM FILE hotline/state-handling ""',
        'STREAM FILE hotline/progress-due ""',
        'SAY NUMBER 12 ""', 'STREAM FILE hotline/month ""',
        'SAY NUMBER 3 ""', 'STREAM FILE hotline/day ""',  # 2026-12-03 09:30 UTC is 17:30 on the 3rd in Shanghai
        "GET DATA hotline/progress-more 5000 1",
        'STREAM FILE hotline/goodbye ""',
    ]
    assert channel.variables["IVR_RESULT"] == "progress" and channel.variables["HOTLINE_TICKET_ID"] == "123"
    assert "HOTLINE_QUEUE" not in channel.variables
    assert channel.variables["IVR_PATH"] == "greeting>menu:2>progress:found"


async def test_progress_of_a_closed_ticket_has_no_due_date(harness: Harness) -> None:
    ticket = handling_ticket()
    harness.backend.tickets[ticket.digits] = type(ticket)(ticket.ticket_id, ticket.number, ticket.digits,
                                                          TicketState.CLOSED, ticket.due_at)
    channel = SimulatedChannel([Press("2"), Press(ticket.digits + "#")])
    log = await harness.call("ivr", channel)
    assert 'STREAM FILE hotline/state-closed ""' in log.commands
    assert not any(c.startswith("SAY NUMBER") for c in log.commands)


async def test_the_lab_ivr_progress_caller_on_the_progress_script(harness: Harness) -> None:
    """asterisk-lab `ivr-progress`: AGI(agi://127.0.0.1:4573/progress), no Answer() before it; the caller
    keys 2 during the greeting, then 20261128000123#, and hangs up during the read-back."""
    harness.backend.tickets["20261128000123"] = handling_ticket()
    channel = SimulatedChannel([Press("2"), Press("20261128000123#")], hangup_at=7)
    log = await harness.call("progress", channel)
    assert log.commands[0] == "ANSWER"
    assert harness.backend.lookups == ["20261128000123"]
    assert channel.variables["IVR_RESULT"] == "progress"
    assert channel.variables["IVR_PATH"] == "greeting>menu:2>progress:found>hangup"
    assert channel.media_after_hangup == []


async def test_progress_script_ignores_service_hours(harness: Harness) -> None:
    harness.settings = IvrSettings(hours=ServiceHours(windows=[ServiceWindow(days=[1], start=time(8),
                                                                             end=time(9))]))
    harness.backend.tickets["20261128000123"] = handling_ticket()
    channel = SimulatedChannel([Press("2"), Press("20261128000123#")])
    await harness.call("progress", channel)
    assert channel.variables["IVR_RESULT"] == "progress"


async def test_unknown_ticket_then_retry(harness: Harness) -> None:
    harness.backend.tickets["20261128000123"] = handling_ticket()
    channel = SimulatedChannel([Press("2"), Press("20261128999999#"), Press("20261128000123#"), Press("0")])
    log = await harness.call("ivr", channel)
    assert 'STREAM FILE hotline/progress-unknown ""' in log.commands
    assert harness.backend.lookups == ["20261128999999", "20261128000123"]
    assert channel.variables["IVR_PATH"] == "greeting>menu:2>progress:unknown>progress:found>menu:0"
    assert channel.variables["IVR_RESULT"] == "agent" and channel.variables["HOTLINE_QUEUE"] == "hotline-12345"
    assert channel.variables["HOTLINE_TICKET_ID"] == "123"


async def test_unknown_tickets_and_timeouts_end_with_an_agent(harness: Harness) -> None:
    channel = SimulatedChannel([Press("2"), Press("123#"), Silence(), Press("99999999999999#")])
    log = await harness.call("ivr", channel)
    assert channel.variables["IVR_PATH"] == (
        "greeting>menu:2>progress:unknown>progress:none>progress:unknown>progress:failed")
    assert channel.variables["IVR_RESULT"] == "agent"
    assert 'STREAM FILE hotline/no-input ""' in log.commands


async def test_ask_again_after_a_read_back(harness: Harness) -> None:
    harness.backend.tickets["20261128000123"] = handling_ticket()
    channel = SimulatedChannel([Press("2"), Press("20261128000123#"), Press("1"), Press("20261128000123#")])
    await harness.call("ivr", channel)
    assert harness.backend.lookups == ["20261128000123", "20261128000123"]
    assert channel.variables["IVR_PATH"] == "greeting>menu:2>progress:found>progress:again>progress:found"


# ---- 5: leave a message ---------------------------------------------------------------------------


async def test_message_script(harness: Harness) -> None:
    channel = SimulatedChannel([Speak(samples=8000, end_key="#")])
    log = await harness.call("message", channel)
    assert media(log.commands)[0] == "ANSWER"
    assert channel.variables["IVR_RESULT"] == "message" and channel.variables["HOTLINE_DRAFT_ID"] == "501"
    assert harness.backend.recordings[0].callback_requested


async def test_empty_message(harness: Harness) -> None:
    channel = SimulatedChannel([Silence()])
    log = await harness.call("message", channel)
    assert harness.backend.recordings == []
    assert media(log.commands)[-2:] == ['STREAM FILE hotline/message-empty ""', 'STREAM FILE hotline/goodbye ""']


async def test_message_cut_by_a_hangup_is_kept(harness: Harness) -> None:
    channel = SimulatedChannel([], hangup_at=3, hangup_notice_first=False)
    log = await harness.call("message", channel)  # ANSWER, prompt, then RECORD FILE gets the hang-up
    (audio,) = harness.backend.recordings
    assert audio.ended_by == "hangup" and audio.duration_ms == 5000
    assert channel.variables["HOTLINE_DRAFT_ID"] == "501" and channel.variables["IVR_RESULT"] == "message"
    assert media(log.commands)[-1].startswith("RECORD FILE")


# ---- 6: survey -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "rating"), [("1", Rating.SATISFIED), ("2", Rating.BASICALLY_SATISFIED),
                                             ("3", Rating.UNSATISFIED)])
async def test_survey(harness: Harness, key: str, rating: Rating) -> None:
    channel = SimulatedChannel([Press(key)], variables={"HOTLINE_TICKET_ID": "42", "HOTLINE_DRAFT_ID": "7"})
    log = await harness.call("survey", channel)
    (answer,) = harness.backend.surveys
    assert (answer.rating, answer.ticket_id, answer.draft_id) == (rating, 42, 7)
    assert channel.variables["HOTLINE_SURVEY"] == rating.value and "IVR_RESULT" not in channel.variables
    assert media(log.commands) == ["ANSWER", "GET DATA hotline/survey 6000 1", 'STREAM FILE hotline/survey-thanks ""']


async def test_survey_ticket_from_the_agi_url(harness: Harness) -> None:
    channel = SimulatedChannel([Press("1")])
    await harness.call("survey?ticket=9", channel)
    assert harness.backend.surveys[0].ticket_id == 9 and harness.backend.surveys[0].draft_id is None


async def test_survey_without_a_ticket_is_still_kept(harness: Harness) -> None:
    channel = SimulatedChannel([Press("2")])
    await harness.call("survey", channel)
    assert harness.backend.surveys[0].ticket_id is None


async def test_survey_invalid_and_timeouts(harness: Harness) -> None:
    channel = SimulatedChannel([Press("5"), Silence(), Press("3")])
    log = await harness.call("survey", channel)
    assert channel.variables["IVR_PATH"] == "survey:5>survey:timeout>survey:3"
    assert harness.backend.surveys[0].rating is Rating.UNSATISFIED
    assert 'STREAM FILE hotline/invalid ""' in log.commands and 'STREAM FILE hotline/no-input ""' in log.commands


async def test_survey_never_answered(harness: Harness) -> None:
    channel = SimulatedChannel([Silence(), Silence(), Silence()])
    await harness.call("survey", channel)
    assert harness.backend.surveys == [] and "HOTLINE_SURVEY" not in channel.variables
    assert channel.variables["IVR_PATH"] == "survey:timeout>survey:timeout>survey:timeout"


# ---- one call, several AGI sessions ------------------------------------------------------------------


def results_set(commands: list[str]) -> list[str]:
    return [c for c in commands if c.startswith("SET VARIABLE IVR_RESULT ")]


async def test_the_survey_appends_to_the_calls_path_and_keeps_its_result(harness: Harness) -> None:
    """[hotline]: AGI(ivr) → Queue() → the agent hangs up → AGI(survey), on the same channel."""
    channel = SimulatedChannel([Listen(), Press("1"), Speak()])
    first = await harness.call("ivr", channel)
    channel.caller = [Press("1")]
    survey = await harness.call("survey", channel)
    assert channel.variables["IVR_RESULT"] == "report"
    assert channel.variables["IVR_PATH"] == "greeting>menu:1>record:timeout>survey:1"
    assert channel.variables["HOTLINE_SURVEY"] == "satisfied"
    assert harness.backend.surveys[0].draft_id == 501  # the draft the first session made
    # The AMI model keeps the last VarSet of each: one IVR_RESULT, and a last IVR_PATH that is whole.
    assert results_set(first.commands + survey.commands) == ['SET VARIABLE IVR_RESULT "report"']
    last_path = [c for c in survey.commands if c.startswith("SET VARIABLE IVR_PATH ")][-1]
    assert last_path == 'SET VARIABLE IVR_PATH "greeting>menu:1>record:timeout>survey:1"'


async def test_a_message_after_the_queue_appends_and_keeps_the_result(harness: Harness) -> None:
    """[hotline]: AGI(ivr) → Queue() times out → message,1 → AGI(message)."""
    channel = SimulatedChannel([Press("0")])
    await harness.call("ivr", channel)
    channel.caller = [Speak(samples=16000, end_key="#")]
    await harness.call("message", channel)
    assert channel.variables["IVR_RESULT"] == "agent"
    assert channel.variables["IVR_PATH"] == "greeting>menu:0>message>record"
    assert channel.variables["HOTLINE_DRAFT_ID"] == "501" and harness.backend.recordings[0].callback_requested


async def test_a_session_that_runs_first_sets_the_result(harness: Harness) -> None:
    channel = SimulatedChannel([Speak(samples=8000, end_key="#")])
    log = await harness.call("message", channel)  # e.g. an after-hours branch straight to a message
    assert results_set(log.commands) == ['SET VARIABLE IVR_RESULT "message"']
    assert log.commands.index("GET VARIABLE IVR_PATH") < log.commands.index('SET VARIABLE IVR_PATH "message>record"')


# ---- robustness -------------------------------------------------------------------------------------


async def test_unknown_script_sends_the_caller_to_an_agent(harness: Harness) -> None:
    channel = SimulatedChannel([])
    await harness.call("ivr-typo", channel)
    assert channel.variables["IVR_RESULT"] == "agent" and channel.variables["HOTLINE_QUEUE"] == "hotline-12345"
    assert channel.variables["IVR_PATH"] == "unknown:ivr-typo"


async def test_missing_prompts_do_not_fail_the_call(harness: Harness) -> None:
    channel = SimulatedChannel([Press("3")], missing_files={"hotline/greeting", "hotline/menu",
                                                            "hotline/enterprise"})
    log = await harness.call("ivr", channel)
    assert 'GET DATA "" 10000 1' in log.commands  # the menu keys are collected without the prompt
    assert channel.variables["IVR_RESULT"] == "enterprise"


async def test_a_missing_beep_is_logged_and_the_caller_recorded_without_it(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    channel = SimulatedChannel([Press("1"), Speak()], missing_files={"beep"})
    with caplog.at_level(logging.WARNING, logger="ivr"):
        log = await harness.call("ivr", channel)
    records = [c for c in log.commands if c.startswith(("RECORD FILE", "NOOP"))]
    assert records == [f'RECORD FILE {UID_FILE} wav "#" 60000 0 BEEP s=3', "NOOP",
                       f'RECORD FILE {UID_FILE} wav "#" 60000 0 s=3']
    assert channel.variables["IVR_PATH"] == "greeting>menu:1>record:timeout"
    assert channel.variables["HOTLINE_DRAFT_ID"] == "501" and len(harness.backend.recordings) == 1
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "Local/ivr@caller-sim-00000008;1" in warning.getMessage()  # the channel, from agi_channel
    assert "randomerror" in warning.getMessage() and "hotline prompts check" in warning.getMessage()


async def test_a_hangup_during_the_beep_is_a_hangup_not_a_missing_beep(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    channel = SimulatedChannel([Press("1"), Listen(), HangUp(during_beep=True)])
    with caplog.at_level(logging.WARNING, logger="ivr"):
        log = await harness.call("ivr", channel)
    assert [c for c in log.commands if c.startswith("RECORD FILE")] == [
        f'RECORD FILE {UID_FILE} wav "#" 60000 0 BEEP s=3']
    assert channel.variables["IVR_PATH"] == "greeting>menu:1>record:hangup>hangup"
    assert channel.media_after_hangup == [] and harness.backend.recordings == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_after_a_hangup_in_get_data_nothing_but_the_variables_is_sent(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """GET DATA answers -1 for a hang-up as for a prompt it cannot play; HANGUP follows the first."""
    channel = SimulatedChannel([Listen(), HangUp()])
    with caplog.at_level(logging.WARNING, logger="ivr"):
        log = await harness.call("ivr", channel)
    after = log.commands[log.commands.index("GET DATA hotline/menu 10000 1") + 1:]
    assert after == ["NOOP", "GET VARIABLE IVR_PATH", 'SET VARIABLE IVR_PATH "greeting>hangup"']
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # no "missing prompt"


async def test_what_is_left_on_the_channel_after_a_hangup(harness: Harness) -> None:
    """Before a decision: only IVR_PATH. After one (here: during the recording): the result too,
    sent after Asterisk said HANGUP (SET VARIABLE runs on a dead channel)."""
    early = SimulatedChannel([], hangup_at=2)  # during the greeting
    await harness.call("ivr", early)
    assert early.variables == {"IVR_PATH": "greeting>hangup"}
    late = SimulatedChannel([Press("1"), Listen(), HangUp()])
    await harness.call("ivr", late)
    assert late.variables["IVR_RESULT"] == "report" and 'SET VARIABLE IVR_RESULT "report"' in late.after_hangup
    assert late.variables["IVR_PATH"] == "greeting>menu:1>record:hangup>hangup"


async def test_a_backend_bug_sends_the_caller_to_an_agent(harness: Harness) -> None:
    async def broken(digits: str) -> None:
        raise ZeroDivisionError

    harness.backend.ticket_progress = broken  # type: ignore[method-assign]
    channel = SimulatedChannel([Press("2"), Press("20261128000123#"), Press("1#"), Press("1#")])
    await harness.call("ivr", channel)
    assert channel.variables["IVR_RESULT"] == "agent"  # look-up failures count as unknown numbers


async def test_hangup_notice_right_after_the_failed_command(harness: Harness) -> None:
    channel = SimulatedChannel([Press("1")], hangup_at=4, hangup_notice_first=False)
    await harness.call("ivr", channel)
    assert channel.variables["IVR_RESULT"] == "report"
    assert len(channel.media_after_hangup) == 0


SCENARIOS: dict[str, tuple[str, Callable[[], list[Action]], int]] = {
    "report": ("ivr", lambda: [Listen(), Press("1"), Speak()], 6),
    "progress": ("ivr", lambda: [Listen(), Press("2"), Press("20261128000123#"), Silence()], 14),
    "enterprise": ("ivr", lambda: [Listen(), Press("3")], 4),
    "invalid": ("ivr", lambda: [Listen(), Press("7"), Press("0")], 6),
    "message": ("message", lambda: [Speak()], 4),
    "survey": ("survey", lambda: [Press("1")], 3),
}


@pytest.mark.parametrize("name", SCENARIOS)
async def test_hangup_at_every_step(harness: Harness, name: str) -> None:
    script, caller, steps = SCENARIOS[name]
    harness.backend.tickets["20261128000123"] = handling_ticket()
    full = SimulatedChannel(caller())
    await harness.call(script, full)
    assert full.media_count == steps, "scenario length changed"
    for step in range(1, steps + 1):
        channel = SimulatedChannel(caller(), hangup_at=step)
        await harness.call(script, channel)
        assert harness.last_stats.failed == 0, f"hang-up at {step} crashed the flow"
        assert channel.media_after_hangup == [], f"kept talking to a dead channel after step {step}"
        assert channel.variables["IVR_PATH"].endswith("hangup"), (step, channel.variables)
        assert "IVR_PATH" in channel.variables  # cleanup ran on the dead channel
        if name == "report" and step == 5:  # during RECORD FILE: the audio is still handed over
            assert harness.backend.recordings[-1].ended_by == "hangup"
            assert channel.variables["HOTLINE_DRAFT_ID"]


async def test_a_flow_bug_still_sends_the_caller_to_an_agent(harness: Harness,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(call: object, pressed: object = None) -> str:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr("ivr.flows.menu.choose", broken)
    channel = SimulatedChannel([])
    log = await harness.call("ivr", channel)
    assert harness.last_stats.failed == 1
    assert channel.variables["IVR_RESULT"] == "agent" and channel.variables["HOTLINE_QUEUE"] == "hotline-12345"
    assert channel.variables["IVR_PATH"] == "greeting>error"
    assert 'STREAM FILE hotline/error ""' in log.commands


async def test_channel_language_is_set_first_when_configured(harness: Harness) -> None:
    harness.settings = IvrSettings(channel_language="zh")
    channel = SimulatedChannel([Press("0")])
    log = await harness.call("ivr", channel)
    assert log.commands[0] == 'SET VARIABLE CHANNEL(language) "zh"'
    assert channel.variables["CHANNEL(language)"] == "zh"
