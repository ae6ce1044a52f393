"""Google Business Profile: each outlet's special hours show its closed days on Google Maps.

Like the banner this is a :class:`Publisher`: it is handed the closures whose banner window
is open (announcement until reopening) whenever that set changed or its last sync did not
succeed, and for each configured outlet it makes the location's ``specialHours`` agree with
them (channel-apis.md §9):

1. ``GET /v1/locations/{id}?readMask=specialHours``;
2. merge (:func:`~broadcaster.channels.google_special_hours.merge`): one ``closed: true`` period (``startDate`` only) per closed day from
   today on; the periods broadcaster added for a closure that is gone (cancelled, moved or
   over) are removed; **every other period is the clinic's and is kept as it is**;
3. ``PATCH /v1/locations/{id}?updateMask=specialHours`` with the whole list (the mask
   replaces it) -- only when it changed, so a pass with nothing new reads and writes nothing.

Which periods are ours is remembered per location in the ledger DB (``Store``), never guessed
from Google's data: a closed day the clinic entered by hand is never removed. A day that
already has a hand-made period (closed, or special opening times) is left to that period:
broadcaster does not add its own beside it (Google would hold two contradicting periods) and
reports the day under ``by_hand`` in the receipt and as a warning. Past days are history and
are never touched. The days about to be added are recorded before the PATCH, so a PATCH whose
reply is lost cannot leave periods nobody remembers adding.

Auth is the OAuth2 refresh-token grant done by google-auth; the access token is cached in
memory and in the ledger DB until shortly before it expires
(:class:`~broadcaster.channels.google_token.GoogleToken`).
Failures: 401 renews the token once, then is permanent; 429 and 5xx are retried; 400
``INVALID_ARGUMENT`` and every other 4xx are permanent, with Google's own message.
``broadcast plan`` sends the PATCH with ``validateOnly=true`` (:meth:`check_plan`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx

from broadcaster.channels.base import Channel, Publisher, Receipt, Skipped, Store, Target
from broadcaster.channels.google_special_hours import (
    Merge,
    Period,
    merge,
    special_days,
)
from broadcaster.channels.google_token import GoogleToken, NoToken, TokenRefused, bearer
from broadcaster.channels.http_api import HttpChannel, json_object, status_line
from broadcaster.errors import DeliveryError, NoReply, PermanentError, RetryableError

if TYPE_CHECKING:
    from broadcaster.channels import Deps
    from broadcaster.channels.settings.google_business import GoogleBusinessConfig

log = logging.getLogger(__name__)

OURS_KEY = "google_business:ours:"  # + location id -> JSON list of the ISO days we added


def from_config(section: GoogleBusinessConfig, deps: Deps) -> Channel | Skipped:
    """``channels.google_business`` and the BROADCAST_GOOGLE_* OAuth secrets as a channel."""
    given = {
        "BROADCAST_GOOGLE_CLIENT_ID": deps.secrets.google_client_id,
        "BROADCAST_GOOGLE_CLIENT_SECRET": deps.secrets.google_client_secret,
        "BROADCAST_GOOGLE_REFRESH_TOKEN": deps.secrets.google_refresh_token,
    }
    values = {name: s.get_secret_value() if s else "" for name, s in given.items()}
    missing = [name for name, value in values.items() if not value]
    if missing:
        return Skipped("google_business", f"{', '.join(missing)} not set")
    outlets = deps.config.site.outlets
    unknown = [o for o in section.locations if outlets and o not in outlets]
    if unknown:
        return Skipped(
            "google_business",
            f"channels.google_business.locations: unknown outlet {', '.join(map(repr, unknown))}"
            f" (site.outlets: {', '.join(outlets)})",
        )
    client_id, client_secret, refresh_token = values.values()
    token = GoogleToken(
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        token_url=section.token_url,
        store=deps.store,
    )
    return GoogleBusinessChannel(
        deps.http,
        locations=section.locations,
        token=token,
        store=deps.store,
        tz=deps.config.site.tz,
        api_url=section.api_url,
        secrets=[client_secret, refresh_token],
    )


class GoogleBusinessChannel(HttpChannel, Publisher):
    name = "google_business"
    accepts = frozenset({"banner"})
    parts = ("text", "html")  # rendered like the banner's, though Google shows only the days

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        locations: Mapping[str, str],
        token: GoogleToken,
        store: Store,
        tz: ZoneInfo,
        api_url: str = "https://mybusinessbusinessinformation.googleapis.com",
        secrets: Iterable[str] = (),
    ) -> None:
        super().__init__(http, api_url, secrets)
        self.locations = dict(locations)  # outlet name -> location id (digits)
        self.token = token
        self.store = store
        self.tz = tz

    def targets(self) -> list[Target]:
        return [Target("site")]

    async def aclose(self) -> None:
        self.token.close()

    async def publish(self, entries: Sequence[dict[str, Any]], now: datetime) -> Receipt:
        """Bring every location's special hours in step with ``entries``."""
        return {"locations": await self._each(entries, now, validate_only=False)}

    async def check_plan(self, entries: Sequence[dict[str, Any]], now: datetime) -> str | None:
        """The same change, sent with ``validateOnly=true``: Google checks it, nothing changes
        (and nothing is remembered)."""
        results = await self._each(entries, now, validate_only=True)
        changes = [_describe(self._outlet(loc), r) for loc, r in results.items() if r["changed"]]
        if changes:
            return "Google accepts (validateOnly): " + "; ".join(changes)
        if not entries:
            return None
        return "Google special hours already in step"

    async def check(self) -> str:
        """Exchange the refresh token and read every location's special hours; changes nothing."""
        found = []
        for outlet, location in self.locations.items():
            periods = await self._read(location)
            found.append(f"{outlet} (locations/{location}: {len(periods)} special-hours periods)")
        return "google_business: can read " + ", ".join(found)

    def preview(self, facts: Mapping[str, Any]) -> list[tuple[str, list[tuple[date, Period]]]]:
        """Per outlet, the special-hours period each day gets (for ``broadcast preview``)."""
        days = special_days([{"facts": facts}], self.locations)
        return [
            (f"{o} (locations/{loc})", sorted(days[loc].items(), key=lambda item: item[0]))
            for o, loc in self.locations.items()
        ]

    # -- one location -----------------------------------------------------------------------

    async def _each(
        self, entries: Sequence[dict[str, Any]], now: datetime, *, validate_only: bool
    ) -> dict[str, dict[str, Any]]:
        """Sync each location; one failing location does not stop the others."""
        self._unreachable = None
        wanted = special_days(entries, self.locations)
        today = now.astimezone(self.tz).date()
        results: dict[str, dict[str, Any]] = {}
        errors: list[DeliveryError] = []
        for location in wanted:
            try:
                results[location] = await self._sync(
                    location, wanted[location], today, validate_only
                )
            except DeliveryError as exc:
                errors.append(exc)
                if isinstance(exc, NoToken | TokenRefused):
                    break  # the same for every location
        if errors:
            message = "; ".join(e.message for e in errors)
            if any(isinstance(e, RetryableError) for e in errors):
                raise RetryableError(message)
            raise PermanentError(message)
        return results

    async def _sync(
        self, location: str, wanted: dict[date, Period], today: date, validate_only: bool
    ) -> dict[str, Any]:
        ours = self._ours(location)
        if not wanted and not {d for d in ours if d >= today}:
            return _result(Merge([], [], [], [], set()))  # nothing of ours to show or remove
        plan = merge(await self._read(location), ours, wanted, today)
        for day in plan.by_hand:
            log.warning(
                "google_business: %s already has special hours set by hand on %s; "
                "left as they are (not marked closed)",
                self._outlet(location),
                day.isoformat(),
            )
        if not plan.changed:
            if not validate_only and plan.ours != ours:
                self._remember(location, plan.ours)
            return _result(plan)
        if not validate_only:
            self._remember(location, ours | set(plan.added))  # before: a lost reply stays ours
        try:
            await self._patch(location, plan.periods, validate_only)
        except NoReply:
            raise
        except DeliveryError:
            if not validate_only:
                self._remember(location, ours)  # Google answered: nothing was added
            raise
        if not validate_only:
            self._remember(location, plan.ours)
        return _result(plan)

    def _ours(self, location: str) -> set[date]:
        days = json.loads(self.store.get_value(OURS_KEY + location) or "[]")
        return {date.fromisoformat(d) for d in days}

    def _remember(self, location: str, days: set[date]) -> None:
        self.store.set_value(OURS_KEY + location, json.dumps(sorted(d.isoformat() for d in days)))

    def _outlet(self, location: str) -> str:
        return next((o for o, loc in self.locations.items() if loc == location), location)

    # -- requests ---------------------------------------------------------------------------

    async def _read(self, location: str) -> list[Period]:
        body = await self._api("GET", location, params={"readMask": "specialHours"})
        periods = (body.get("specialHours") or {}).get("specialHourPeriods") or []
        return [p for p in periods if isinstance(p, dict)]

    async def _patch(self, location: str, periods: list[Period], validate_only: bool) -> None:
        params = {"updateMask": "specialHours"}
        if validate_only:
            params["validateOnly"] = "true"
        body = {"specialHours": {"specialHourPeriods": periods}}
        await self._api("PATCH", location, params=params, json=body)

    async def _api(self, method: str, location: str, **kwargs: Any) -> dict[str, Any]:
        """One authorised call; a refused token is renewed once."""
        url = f"{self.base_url}/v1/locations/{location}"
        token = await self.token.current()
        response = await self.call(method, url, headers=bearer(token), **kwargs)
        if response.status_code == 401:
            token = await self.token.renewed(token)
            response = await self.call(method, url, headers=bearer(token), **kwargs)
        if response.is_success:
            return json_object(response)
        raise self._error(location, response)

    def _error(self, location: str, response: httpx.Response) -> DeliveryError:
        error = json_object(response).get("error") or {}
        status = str(error.get("status") or status_line(response))
        message = f"{self._outlet(location)} (locations/{location}): {status}"
        if error.get("message"):
            message += f": {error['message']}"
        violations = [
            f"{v.get('field', '?')}: {v.get('description', '')}"
            for detail in error.get("details") or []
            for v in detail.get("fieldViolations") or []
        ]
        if violations:
            message += f" ({'; '.join(violations)})"
        hint = {
            401: " -- Google refused a fresh access token too: check BROADCAST_GOOGLE_*",
            403: " -- the account behind BROADCAST_GOOGLE_REFRESH_TOKEN must manage this location",
            404: " -- check channels.google_business.locations",
        }.get(response.status_code, "")
        return self.failure(response, message + hint)


def _result(plan: Merge) -> dict[str, Any]:
    return {
        "changed": plan.changed,
        "added": [d.isoformat() for d in plan.added],
        "removed": [d.isoformat() for d in plan.removed],
        "by_hand": [d.isoformat() for d in plan.by_hand],
    }


def _describe(outlet: str, result: Mapping[str, Any]) -> str:
    parts = [f"+{len(result['added'])} closed" if result["added"] else ""]
    parts.append(f"-{len(result['removed'])} removed" if result["removed"] else "")
    return f"{outlet} " + ", ".join(p for p in parts if p)
