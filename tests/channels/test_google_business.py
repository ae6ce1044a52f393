"""Google Business Profile special hours against FakeGoogleBusiness: the merge, the exact
requests, Google's errors, the token's life."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from broadcaster.channels.google_business import OURS_KEY, GoogleBusinessChannel
from broadcaster.channels.google_special_hours import (
    closed_period,
    merge,
    special_days,
    special_period,
)
from broadcaster.channels.google_token import GoogleToken
from broadcaster.channels.settings.google_business import GoogleBusinessConfig
from broadcaster.cli import app
from broadcaster.errors import PermanentError, RetryableError
from tests.commands import broadcast as run_broadcast
from tests.commands import history
from tests.fakes.conftest import Running, running
from tests.fakes.google_business import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    FakeGoogleBusiness,
)
from tests.fakes.support import MemoryStore

Gbp = Running[FakeGoogleBusiness]
TZ = ZoneInfo("Asia/Singapore")
NOW = datetime(2024, 3, 20, 9, 0, tzinfo=TZ)
ORCHARD, TAMPINES = "1111111111", "2222222222"
LOCATIONS = {"Orchard": ORCHARD, "Tampines": TAMPINES}
#: set by the clinic by hand: Christmas Eve half day, and a closed day of its own
CHRISTMAS_EVE = {
    "startDate": {"year": 2024, "month": 12, "day": 24},
    "openTime": {"hours": 9, "minutes": 0},
    "endDate": {"year": 2024, "month": 12, "day": 24},
    "closeTime": {"hours": 13, "minutes": 0},
}
NATIONAL_DAY = closed_period(date(2024, 8, 9))


def entry(start: str = "2024-03-26", end: str = "2024-03-27", **facts: Any) -> dict[str, Any]:
    """A banner-window entry as the dispatcher hands it to publishers."""
    closure = {
        "start": start,
        "end": end,
        "resume": "2024-03-28",
        "outlets": ["Orchard", "Tampines"],
        "all_outlets": True,
        "reason": "our annual team bonding event",
    } | facts
    facts = {"kind": "closure", "hours": None} | closure
    return {"id": f"closure-{start}", "kind": "closure", "facts": facts, "text": "", "html": ""}


@pytest.fixture
def gbp() -> Iterator[Gbp]:
    fake = FakeGoogleBusiness({ORCHARD: [CHRISTMAS_EVE, NATIONAL_DAY], TAMPINES: []})
    with running(fake) as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, verify=False) as client:
        yield client


def channel(
    gbp: Gbp, http: httpx.AsyncClient, store: MemoryStore | None = None, **kwargs: Any
) -> GoogleBusinessChannel:
    store = store if store is not None else MemoryStore()
    token = GoogleToken(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
        token_url=f"{gbp.url}/token",
        store=store,
    )
    kwargs.setdefault("locations", LOCATIONS)
    return GoogleBusinessChannel(
        http, token=token, store=store, tz=TZ, api_url=gbp.url, secrets=[CLIENT_SECRET], **kwargs
    )


def d(text: str) -> date:
    return date.fromisoformat(text)


# The merge (pure) ---------------------------------------------------------------------------

TODAY = d("2024-03-20")


def hours(day: str) -> dict[str, Any]:
    """Special opening times set by hand: 09:00-13:00 on ``day``."""
    when = d(day)
    start = {"year": when.year, "month": when.month, "day": when.day}
    return CHRISTMAS_EVE | {"startDate": start, "endDate": start}


HOURS_26 = hours("2024-03-26")
#: Google once took hours and a closed period on the same day; this fake refuses it now
CONFLICT = [hours("2024-04-02"), closed_period(date(2024, 4, 2))]


@pytest.mark.parametrize(
    ("current", "ours", "wanted", "periods", "ours_after", "by_hand"),
    [
        pytest.param(
            [NATIONAL_DAY],
            set(),
            {"2024-03-26", "2024-03-27"},
            [NATIONAL_DAY, closed_period(d("2024-03-26")), closed_period(d("2024-03-27"))],
            {"2024-03-26", "2024-03-27"},
            [],
            id="adds-one-closed-period-per-day",
        ),
        pytest.param(
            [NATIONAL_DAY, closed_period(d("2024-03-26"))],
            {"2024-03-26"},
            set(),
            [NATIONAL_DAY],
            set(),
            [],
            id="removes-only-ours",
        ),
        pytest.param(
            [closed_period(d("2024-03-26"))],
            set(),
            {"2024-03-26"},
            [closed_period(d("2024-03-26"))],
            set(),
            ["2024-03-26"],
            id="a-hand-made-closed-day-stays-the-clinics",
        ),
        pytest.param(
            [HOURS_26],
            set(),
            {"2024-03-26"},
            [HOURS_26],
            set(),
            ["2024-03-26"],
            id="hand-made-hours-win-over-our-closure",
        ),
        pytest.param(
            [closed_period(d("2024-03-18"))],
            {"2024-03-18"},
            set(),
            [closed_period(d("2024-03-18"))],
            set(),
            [],
            id="past-days-are-history",
        ),
        pytest.param(
            [],
            {"2024-03-26"},
            {"2024-03-26"},
            [closed_period(d("2024-03-26"))],
            {"2024-03-26"},
            [],
            id="ours-deleted-by-hand-comes-back-while-still-closed",
        ),
        pytest.param(
            [],
            set(),
            {"2024-03-19"},
            [],
            set(),
            [],
            id="a-past-day-is-never-added",
        ),
    ],
)
def test_merge(
    current: list[dict[str, Any]],
    ours: set[str],
    wanted: set[str],
    periods: list[dict[str, Any]],
    ours_after: set[str],
    by_hand: list[str],
) -> None:
    closed = {d(x): closed_period(d(x)) for x in wanted}
    result = merge(current, {d(x) for x in ours}, closed, TODAY)
    assert result.periods == periods
    assert result.ours == {d(x) for x in ours_after}
    assert result.by_hand == [d(x) for x in by_hand]


def test_closed_days_follow_each_closures_outlets() -> None:
    only_tampines = entry("2024-04-02", "2024-04-02", outlets=["Tampines"], all_outlets=False)
    days = special_days([entry(), only_tampines], LOCATIONS)
    assert days[ORCHARD] == {x: closed_period(x) for x in (d("2024-03-26"), d("2024-03-27"))}
    assert set(days[TAMPINES]) == {d("2024-03-26"), d("2024-03-27"), d("2024-04-02")}


def test_other_hours_are_a_period_with_opening_and_closing_times() -> None:
    short = entry("2024-12-24", "2024-12-24", hours={"opens": "09:00", "closes": "14:00"})
    days = special_days([short], LOCATIONS)
    assert days[ORCHARD] == {
        d("2024-12-24"): {
            "startDate": {"year": 2024, "month": 12, "day": 24},
            "openTime": {"hours": 9, "minutes": 0},
            "endDate": {"year": 2024, "month": 12, "day": 24},
            "closeTime": {"hours": 14, "minutes": 0},
        }
    }


def test_a_day_that_changes_from_closed_to_other_hours_replaces_our_period() -> None:
    day = d("2024-03-26")
    hours = special_period(day, {"opens": "10:00", "closes": "13:00"})
    result = merge([NATIONAL_DAY, closed_period(day)], {day}, {day: hours}, TODAY)
    assert result.periods == [NATIONAL_DAY, hours]
    assert (result.added, result.removed) == ([day], [day])


# Publishing ---------------------------------------------------------------------------------


async def test_a_closure_closes_its_days_and_keeps_hand_made_entries(
    gbp: Gbp, http: httpx.AsyncClient
) -> None:
    receipt = await channel(gbp, http).publish([entry()], NOW)
    assert gbp.fake.closed_days(ORCHARD) == ["2024-03-26", "2024-03-27", "2024-08-09"]
    assert CHRISTMAS_EVE in gbp.fake.special_hours[ORCHARD]
    assert gbp.fake.closed_days(TAMPINES) == ["2024-03-26", "2024-03-27"]
    patch = gbp.fake.patches[0]
    assert patch["query"] == {"updateMask": "specialHours"}
    assert patch["body"]["specialHours"]["specialHourPeriods"][-1] == {
        "startDate": {"year": 2024, "month": 3, "day": 27},
        "closed": True,
    }
    assert receipt["locations"][ORCHARD]["added"] == ["2024-03-26", "2024-03-27"]
    reads = [r for r in gbp.fake.requests if r["http_method"] == "GET"]
    assert {r["query"]["readMask"] for r in reads} == {"specialHours"}
    assert all(r["headers"]["authorization"].startswith("Bearer ya29.") for r in reads)


async def test_a_pass_with_nothing_new_writes_nothing_and_reuses_the_token(
    gbp: Gbp, http: httpx.AsyncClient
) -> None:
    store = MemoryStore()
    await channel(gbp, http, store).publish([entry()], NOW)
    await channel(gbp, http, store).publish([entry()], NOW)  # the next process
    assert len(gbp.fake.patches) == 2  # one per location, the first time only
    assert len(gbp.fake.token_requests) == 1  # the cached access token was still good


async def test_a_cancelled_closure_removes_only_our_periods(
    gbp: Gbp, http: httpx.AsyncClient
) -> None:
    store = MemoryStore()
    await channel(gbp, http, store).publish([entry()], NOW)
    receipt = await channel(gbp, http, store).publish([], NOW)
    assert gbp.fake.special_hours[ORCHARD] == [CHRISTMAS_EVE, NATIONAL_DAY]
    assert gbp.fake.special_hours[TAMPINES] == []
    assert receipt["locations"][ORCHARD]["removed"] == ["2024-03-26", "2024-03-27"]
    assert store.values[OURS_KEY + ORCHARD] == "[]"


async def test_without_closures_or_our_periods_nothing_is_read(
    gbp: Gbp, http: httpx.AsyncClient
) -> None:
    await channel(gbp, http).publish([], NOW)
    assert gbp.fake.requests == []


async def test_a_hand_made_day_is_never_overridden_nor_removed(
    gbp: Gbp, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore()
    national_day = entry("2024-08-09", "2024-08-09")
    receipt = await channel(gbp, http, store).publish([national_day], NOW)
    assert receipt["locations"][ORCHARD]["by_hand"] == ["2024-08-09"]
    assert "already has special hours set by hand on 2024-08-09" in caplog.text
    assert gbp.fake.closed_days(ORCHARD) == ["2024-08-09"]  # not twice
    await channel(gbp, http, store).publish([], NOW)
    assert NATIONAL_DAY in gbp.fake.special_hours[ORCHARD]  # still there after the cancel


async def test_a_moved_closure_moves_our_periods(gbp: Gbp, http: httpx.AsyncClient) -> None:
    store = MemoryStore()
    await channel(gbp, http, store).publish([entry()], NOW)
    await channel(gbp, http, store).publish([entry("2024-03-27", "2024-03-28")], NOW)
    assert gbp.fake.closed_days(TAMPINES) == ["2024-03-27", "2024-03-28"]


async def test_a_lost_patch_reply_still_leaves_the_periods_ours(
    gbp: Gbp, http: httpx.AsyncClient
) -> None:
    store = MemoryStore()
    gbp.fake.fail_after_patch()
    with pytest.raises(RetryableError):
        await channel(gbp, http, store, locations={"Orchard": ORCHARD}).publish([entry()], NOW)
    assert gbp.fake.closed_days(ORCHARD) == ["2024-03-26", "2024-03-27", "2024-08-09"]
    await channel(gbp, http, store, locations={"Orchard": ORCHARD}).publish([], NOW)
    assert gbp.fake.special_hours[ORCHARD] == [CHRISTMAS_EVE, NATIONAL_DAY]


# Auth ---------------------------------------------------------------------------------------


async def test_a_refused_access_token_is_renewed_once(gbp: Gbp, http: httpx.AsyncClient) -> None:
    ch = channel(gbp, http)
    await ch.publish([entry()], NOW)
    gbp.fake.expire_access_tokens()
    await ch.publish([entry("2024-03-26", "2024-03-28")], NOW)
    assert gbp.fake.closed_days(TAMPINES) == ["2024-03-26", "2024-03-27", "2024-03-28"]
    assert ch.token.refreshes == 2


async def test_a_second_401_is_permanent(gbp: Gbp, http: httpx.AsyncClient) -> None:
    gbp.fake.reject_all_tokens()
    with pytest.raises(PermanentError, match=r"UNAUTHENTICATED.*check BROADCAST_GOOGLE_"):
        await channel(gbp, http).publish([entry()], NOW)


async def test_a_revoked_refresh_token_is_permanent_and_says_what_to_do(
    gbp: Gbp, http: httpx.AsyncClient
) -> None:
    gbp.fake.revoke_refresh_token()
    with pytest.raises(PermanentError) as caught:
        await channel(gbp, http).publish([entry()], NOW)
    assert "invalid_grant" in caught.value.message
    assert "BROADCAST_GOOGLE_REFRESH_TOKEN" in caught.value.message
    assert REFRESH_TOKEN not in caught.value.message and CLIENT_SECRET not in caught.value.message


async def test_a_failing_token_endpoint_is_retryable(gbp: Gbp, http: httpx.AsyncClient) -> None:
    gbp.fake.fail_with_5xx(503, times=None, on="token")  # google-auth retries twice itself
    with pytest.raises(RetryableError, match="token endpoint"):
        await channel(gbp, http).publish([entry()], NOW)
    assert len(gbp.fake.requests) == 3 and gbp.fake.patches == []


async def test_the_token_endpoint_unreachable_is_retryable(http: httpx.AsyncClient) -> None:
    with running(FakeGoogleBusiness({ORCHARD: []})) as gone:
        url = gone.url
    token = GoogleToken(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
        token_url=f"{url}/token",
        store=MemoryStore(),
    )
    with pytest.raises(RetryableError, match=r"cannot reach 127\.0\.0\.1 for a token"):
        await token.current()


# Google's errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["429", "503"])
async def test_rate_limits_and_outages_are_retryable(
    gbp: Gbp, http: httpx.AsyncClient, fault: str
) -> None:
    if fault == "429":
        gbp.fake.fail_with_429(on="locations")
    else:
        gbp.fake.fail_with_5xx(503, on="locations")
    with pytest.raises(RetryableError, match=r"RESOURCE_EXHAUSTED|UNAVAILABLE"):
        await channel(gbp, http, locations={"Orchard": ORCHARD}).publish([entry()], NOW)


async def test_invalid_argument_is_permanent_with_googles_message(
    gbp: Gbp, http: httpx.AsyncClient
) -> None:
    gbp.fake.add_location(ORCHARD, CONFLICT)
    with pytest.raises(PermanentError) as caught:
        await channel(gbp, http, locations={"Orchard": ORCHARD}).publish([entry()], NOW)
    message = caught.value.message
    assert "Orchard (locations/1111111111): INVALID_ARGUMENT" in message
    assert "Request contains an invalid argument." in message
    assert "Conflicting special hours on 2024-04-02" in message


async def test_an_unknown_location_fails_alone(gbp: Gbp, http: httpx.AsyncClient) -> None:
    ch = channel(gbp, http, locations={"Orchard": ORCHARD, "Jurong": "3333333333"})
    with pytest.raises(PermanentError, match=r"Jurong.*NOT_FOUND.*channels\.google_business"):
        await ch.publish([entry()], NOW)
    assert gbp.fake.closed_days(ORCHARD) == ["2024-03-26", "2024-03-27", "2024-08-09"]


# Plan and check -----------------------------------------------------------------------------


async def test_plan_validates_with_google_and_changes_nothing(
    gbp: Gbp, http: httpx.AsyncClient
) -> None:
    store = MemoryStore()
    note = await channel(gbp, http, store).check_plan([entry()], NOW)
    assert note == "Google accepts (validateOnly): Orchard +2 closed; Tampines +2 closed"
    assert gbp.fake.patches == [] and OURS_KEY + ORCHARD not in store.values
    validated = [r for r in gbp.fake.requests if r["http_method"] == "PATCH"]
    assert [r["query"]["validateOnly"] for r in validated] == ["true", "true"]


async def test_plan_reports_what_google_would_refuse(gbp: Gbp, http: httpx.AsyncClient) -> None:
    gbp.fake.add_location(ORCHARD, CONFLICT)
    with pytest.raises(PermanentError, match="INVALID_ARGUMENT"):
        await channel(gbp, http).check_plan([entry()], NOW)


async def test_check_reads_every_location(gbp: Gbp, http: httpx.AsyncClient) -> None:
    line = await channel(gbp, http).check()
    assert line == (
        "google_business: can read Orchard (locations/1111111111: 2 special-hours periods), "
        "Tampines (locations/2222222222: 0 special-hours periods)"
    )
    assert gbp.fake.patches == []


# Through `broadcast` (the promise) ----------------------------------------------------

DEMO_NOW = "2024-03-20T09:00:00+08:00"


@pytest.fixture
def configured(project: Path, gbp: Gbp, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example config with Google special hours pointed at the fake."""
    config = project / "config/broadcaster.yaml"
    section = (
        "channels:\n  google_business:\n"
        f'    api_url: "{gbp.url}"\n    token_url: "{gbp.url}/token"\n'
        f'    locations:\n      Orchard: "locations/{ORCHARD}"\n      Tampines: "{TAMPINES}"\n'
    )
    text = config.read_text(encoding="utf-8").replace("channels:\n", section, 1)
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("BROADCAST_GOOGLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("BROADCAST_GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("BROADCAST_GOOGLE_REFRESH_TOKEN", REFRESH_TOKEN)
    return config


def broadcast(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    assert CLIENT_SECRET not in result.output and REFRESH_TOKEN not in result.output
    return result.output


def test_a_run_closes_26_and_27_march_and_cancelling_reopens_them(
    configured: Path, gbp: Gbp
) -> None:
    broadcast("run", "--now", DEMO_NOW)
    assert gbp.fake.closed_days(ORCHARD) == ["2024-03-26", "2024-03-27", "2024-08-09"]
    assert CHRISTMAS_EVE in gbp.fake.special_hours[ORCHARD]
    assert gbp.fake.closed_days(TAMPINES) == ["2024-03-26", "2024-03-27"]
    broadcast("run", "--now", "2024-03-20T10:00:00+08:00")
    assert len(gbp.fake.patches) == 2 and len(gbp.fake.token_requests) == 1  # nothing new

    text = configured.read_text(encoding="utf-8")
    start, end = text.index("closures:\n"), text.index("\narticles:")
    configured.write_text(text[:start] + "closures: []\n" + text[end:], encoding="utf-8")
    broadcast("run", "--now", "2024-03-21T09:00:00+08:00")
    assert gbp.fake.special_hours[ORCHARD] == [CHRISTMAS_EVE, NATIONAL_DAY]
    assert gbp.fake.special_hours[TAMPINES] == []


def test_plan_asks_google_to_validate_only(configured: Path, gbp: Gbp) -> None:
    output = broadcast("plan", "--now", DEMO_NOW)
    cells = " ".join(re.sub(r"[│┃\s]+", " ", output).split())  # the table wraps the detail
    assert "Google accepts (validateOnly): Orchard +2 closed; Tampines +2" in cells
    assert gbp.fake.patches == []
    assert {
        r["query"].get("validateOnly") for r in gbp.fake.requests if r["http_method"] == "PATCH"
    } == {"true"}
    seen = len(gbp.fake.requests)
    broadcast("validate", "--now", DEMO_NOW)  # validate does not ask Google
    assert len(gbp.fake.requests) == seen


def test_without_secrets_google_is_skipped(
    configured: Path, gbp: Gbp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BROADCAST_GOOGLE_REFRESH_TOKEN")
    output = broadcast("run", "--now", DEMO_NOW)
    assert "BROADCAST_GOOGLE_REFRESH_TOKEN not set" in output
    assert gbp.fake.requests == []


@pytest.mark.parametrize(
    ("locations", "error"),
    [
        ({"Orchard": "locations/123", "Tampines": " 456 "}, None),
        ({"Orchard": "accounts/1/locations/123"}, "is not a location id"),
        ({}, "at least 1 item"),
    ],
)
def test_the_config_section_normalises_location_ids(
    locations: dict[str, str], error: str | None
) -> None:
    if error is None:
        section = GoogleBusinessConfig(locations=locations)
        assert section.locations == {"Orchard": "123", "Tampines": "456"}
        return
    with pytest.raises(ValidationError, match=error):
        GoogleBusinessConfig(locations=locations)


def test_an_unknown_outlet_skips_the_channel(configured: Path, gbp: Gbp) -> None:
    text = configured.read_text(encoding="utf-8").replace("      Tampines:", "      Jurong:", 1)
    configured.write_text(text, encoding="utf-8")
    output = broadcast("run", "--now", DEMO_NOW)
    assert "unknown outlet 'Jurong'" in output and gbp.fake.requests == []


# A sync that fails on a later pass is a failed delivery (the promise) -----------------


def google_status() -> tuple[int, dict[str, Any]]:
    code, output = run_broadcast("status", "--json")
    channels = json.loads(output)["channels"]
    return code, next(c for c in channels if c["channel"] == "google_business")


def test_a_later_sync_google_refuses_is_retry_until_google_takes_it(
    configured: Path, gbp: Gbp
) -> None:
    broadcast("run", "--now", DEMO_NOW)
    text = configured.read_text(encoding="utf-8")
    start, end = text.index("closures:\n"), text.index("\narticles:")
    configured.write_text(text[:start] + "closures: []\n" + text[end:], encoding="utf-8")
    gbp.fake.fail_with_5xx(503, times=None)

    code, output = run_broadcast("run", "--now", "2024-03-21T09:00:00+08:00")
    assert code == 1, output
    code, status = google_status()
    unavailable = "UNAVAILABLE: The service is currently unavailable."
    assert (code, status["retry"]) == (1, 1)
    assert status["last_error"] == (
        f"google_business: Orchard (locations/{ORCHARD}): {unavailable}; "
        f"google_business: Tampines (locations/{TAMPINES}): {unavailable}"
    )
    assert gbp.fake.closed_days(TAMPINES) == ["2024-03-26", "2024-03-27"]  # still closed

    gbp.fake.clear_faults()  # the same state, tried again because the last sync failed
    broadcast("run", "--now", "2024-03-21T10:00:00+08:00")
    assert gbp.fake.special_hours[ORCHARD] == [CHRISTMAS_EVE, NATIONAL_DAY]
    assert gbp.fake.special_hours[TAMPINES] == []
    assert google_status()[1]["retry"] == 0


def test_a_lost_patch_reply_is_synced_again_harmlessly(configured: Path, gbp: Gbp) -> None:
    gbp.fake.fail_after_patch()
    code, output = run_broadcast("run", "--now", DEMO_NOW)
    assert code == 1, output
    assert google_status()[1]["retry"] == 1

    broadcast("run", "--now", "2024-03-20T10:00:00+08:00")
    assert gbp.fake.closed_days(ORCHARD) == ["2024-03-26", "2024-03-27", "2024-08-09"]
    assert gbp.fake.closed_days(TAMPINES) == ["2024-03-26", "2024-03-27"]
    assert google_status()[1]["retry"] == 0


def test_an_unchanged_state_once_synced_asks_google_nothing(configured: Path, gbp: Gbp) -> None:
    broadcast("run", "--now", DEMO_NOW)
    seen = len(gbp.fake.requests)
    broadcast("run", "--now", "2024-03-20T10:00:00+08:00")
    assert len(gbp.fake.requests) == seen


def test_a_refused_state_stays_failed_until_the_closures_change(configured: Path, gbp: Gbp) -> None:
    gbp.fake.add_location(ORCHARD, CONFLICT)  # Google refuses any list holding these
    code, output = run_broadcast("run", "--now", DEMO_NOW)
    assert code == 1, output
    code, status = google_status()
    assert (code, status["failed"]) == (3, 1)  # a person is needed
    seen = len(gbp.fake.requests)
    code, output = run_broadcast("run", "--now", "2024-03-20T10:00:00+08:00")
    assert code == 1 and len(gbp.fake.requests) == seen  # not asked again: it would refuse

    text = configured.read_text(encoding="utf-8")
    start, end = text.index("closures:\n"), text.index("\narticles:")
    configured.write_text(text[:start] + "closures: []\n" + text[end:], encoding="utf-8")
    broadcast("run", "--now", "2024-03-21T09:00:00+08:00")  # nothing of ours to show: done
    code, status = google_status()
    assert (code, status["failed"], status["retry"]) == (0, 0, 0)
    (write,) = [d for d in history() if d["notice"] == "google_business:state"]
    assert write["state"] == "sent"
