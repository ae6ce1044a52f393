"""Fake Google Business Profile API and OAuth2 token endpoint (channel-apis.md §9 and §10).

Served with tests.fakes.server.serve. What it enforces, as Google does:

* ``POST /token``: the refresh-token grant for one OAuth client (``invalid_client`` 401,
  ``invalid_grant`` 400 for a revoked refresh token), issuing short Bearer tokens.
* ``GET /v1/locations/{id}?readMask=specialHours``: a Bearer token that is current and has the
  business.manage scope (401 ``UNAUTHENTICATED`` / 403 ``PERMISSION_DENIED``), a ``readMask``;
  the location's fields named by the mask (``specialHours`` absent when empty, as Google does).
* ``PATCH /v1/locations/{id}?updateMask=specialHours[&validateOnly=true]``: the mask
  **replaces the whole list**; every period is validated (a real date; ``closed`` ignores
  times; otherwise openTime and closeTime, hours 0-24, less than 24 h, endDate at most the
  next day) and, an assumption of this fake, no closed day may carry a second period.
  ``validateOnly`` checks without changing anything.

Errors use Google's shape: ``{"error": {"code", "message", "status", "details"}}``.
"""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeService, Fault
from .server import DropConnection

CLIENT_ID = "1234567890-fake.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fakeClientSecret0123456789"
REFRESH_TOKEN = "1//0fakeRefreshTokenForTestsOnly-abcdefghijklmnop"
SCOPE = "https://www.googleapis.com/auth/business.manage"
Period = dict[str, Any]


def google_error(code: int, status: str, message: str, **extra: Any) -> JSONResponse:
    """Google's JSON error body, with the HTTP status equal to ``code``."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    violations = extra.pop("violations", None)
    if violations:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": f, "description": d} for f, d in violations],
            }
        ]
    return JSONResponse({"error": error}, status_code=code, headers=extra.pop("headers", None))


class Invalid(Exception):
    def __init__(self, field: str, description: str) -> None:
        super().__init__(description)
        self.field, self.description = field, description


class FakeGoogleBusiness(FakeService):
    """The Business Information API's locations resource plus Google's OAuth2 token endpoint."""

    def __init__(self, locations: dict[str, list[Period]] | None = None) -> None:
        super().__init__()
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.refresh_token = REFRESH_TOKEN
        self.granted_scopes = {SCOPE}
        self.expires_in = 3599
        self.tokens_refused = False
        self.special_hours: dict[str, list[Period]] = {
            k: list(v) for k, v in (locations or {}).items()
        }
        self.tokens: dict[str, tuple[datetime, set[str]]] = {}
        self.token_requests: list[dict[str, Any]] = []
        self.patches: list[dict[str, Any]] = []  # accepted PATCHes: location, query, body
        self._serial = itertools.count(1)
        self.now = datetime.now
        self.app = Starlette(
            routes=[
                Route("/token", self.endpoint(self._token), methods=["POST"]),
                Route(
                    "/v1/locations/{location}",
                    self.endpoint(self._location),
                    methods=["GET", "PATCH"],
                ),
                Route("/{path:path}", self.endpoint(self._not_found), methods=["GET", "POST"]),
            ]
        )

    # -- test controls ------------------------------------------------------------------------

    def add_location(self, location: str, periods: list[Period] | None = None) -> None:
        self.special_hours[location] = list(periods or [])

    def expire_access_tokens(self) -> None:
        """Every token issued so far answers 401 from now on (as after a revocation)."""
        self.tokens.clear()

    def revoke_refresh_token(self) -> None:
        self.refresh_token = "revoked"

    def reject_all_tokens(self) -> None:
        """Every API call answers 401, even with a token issued a moment ago."""
        self.tokens_refused = True

    def fail_after_patch(self, times: int | None = 1) -> None:
        """Apply the PATCH, then lose the reply: the client cannot know it took effect."""
        self.faults.append(Fault("after_create", times, "locations"))

    def closed_days(self, location: str) -> list[str]:
        return sorted(
            f"{p['startDate']['year']:04d}-{p['startDate']['month']:02d}-{p['startDate']['day']:02d}"
            for p in self.special_hours[location]
            if p.get("closed")
        )

    def too_many_requests(self, retry_after: int) -> Response:
        return google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of "
            "service 'mybusinessbusinessinformation.googleapis.com'.",
        )

    def server_error(self, status: int) -> Response:
        return google_error(status, "UNAVAILABLE", "The service is currently unavailable.")

    # -- OAuth2 -------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        async with request.form() as form:
            params = {k: str(v) for k, v in form.items()}
        self.token_requests.append(params)
        if params.get("grant_type") != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", "Invalid grant_type.")
        if (params.get("client_id"), params.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if params.get("refresh_token") != self.refresh_token:
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        asked = set(params.get("scope", "").split()) or self.granted_scopes
        if not asked <= self.granted_scopes:
            return _oauth_error(400, "invalid_scope", "Some requested scopes were invalid.")
        token = f"ya29.fake-access-token-{next(self._serial)}"
        self.tokens[token] = (self.now() + timedelta(seconds=self.expires_in), asked)
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": self.expires_in,
                "scope": " ".join(sorted(asked)),
                "token_type": "Bearer",
            }
        )

    def _auth_error(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        found = self.tokens.get(token)
        if found is None or found[0] <= self.now() or self.tokens_refused:
            return google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        if SCOPE not in found[1]:
            return google_error(
                403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."
            )
        return None

    # -- locations ----------------------------------------------------------------------------

    async def _not_found(self, request: Request) -> Response:
        return google_error(404, "NOT_FOUND", "Requested entity was not found.")

    async def _location(self, request: Request) -> Response:
        refused = self._auth_error(request)
        if refused is not None:
            return refused
        location = request.path_params["location"]
        if location not in self.special_hours:
            return google_error(404, "NOT_FOUND", "Requested entity was not found.")
        if request.method == "GET":
            return self._get(request, location)
        return await self._patch(request, location)

    def _get(self, request: Request, location: str) -> Response:
        mask = request.query_params.get("readMask", "")
        if not mask:
            return _invalid([("read_mask", "Field is required")])
        fields = {f.strip() for f in mask.split(",")}
        unknown = fields - {"specialHours", "name", "title"}
        if unknown:
            return _invalid([("read_mask", f"Invalid field mask path: {sorted(unknown)[0]}")])
        return JSONResponse(self._location_body(location, fields))

    async def _patch(self, request: Request, location: str) -> Response:
        mask = request.query_params.get("updateMask", "")
        if not mask:
            return _invalid([("update_mask", "Field is required")])
        if mask != "specialHours":
            return _invalid([("update_mask", f"Unsupported field mask path: {mask}")])
        try:
            body = json.loads(await request.body())
            periods = (body.get("specialHours") or {}).get("specialHourPeriods") or []
            _validate(periods)
        except Invalid as exc:
            return _invalid([(exc.field, exc.description)])
        except (ValueError, AttributeError):
            return google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        request.state.log["body"] = body
        if request.query_params.get("validateOnly") == "true":
            return JSONResponse(
                {"name": f"locations/{location}", "specialHours": body["specialHours"]}
            )
        self.special_hours[location] = list(periods)  # the mask replaces the whole list
        self.patches.append(
            {"location": location, "query": dict(request.query_params), "body": body}
        )
        for fault in self.take_faults(request.url.path, frozenset({"after_create"}))[:1]:
            self.consume(fault)
            return DropConnection()
        return JSONResponse(self._location_body(location, {"specialHours"}))

    def _location_body(self, location: str, fields: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"name": f"locations/{location}"}
        if "title" in fields:
            body["title"] = f"Glow Aesthetics {location}"
        if "specialHours" in fields and self.special_hours[location]:
            body["specialHours"] = {"specialHourPeriods": self.special_hours[location]}
        return body


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _invalid(violations: list[tuple[str, str]]) -> JSONResponse:
    return google_error(
        400, "INVALID_ARGUMENT", "Request contains an invalid argument.", violations=violations
    )


def _validate(periods: list[Period]) -> None:
    """Google's rules for special hour periods (channel-apis.md §9)."""
    closed: dict[date, int] = {}
    starts: dict[date, int] = {}
    for index, period in enumerate(periods):
        at = f"special_hours.special_hour_periods[{index}]"
        start = _date(period.get("startDate"), f"{at}.start_date")
        starts[start] = starts.get(start, 0) + 1
        if period.get("closed") is True:
            closed[start] = closed.get(start, 0) + 1
            continue  # closed ignores endDate, openTime and closeTime
        opens = _minutes(period.get("openTime"), f"{at}.open_time")
        closes = _minutes(period.get("closeTime"), f"{at}.close_time")
        end = _date(period.get("endDate"), f"{at}.end_date") if period.get("endDate") else start
        if not start <= end <= start + timedelta(days=1):
            raise Invalid(f"{at}.end_date", "end_date must be start_date or the day after")
        span = (end - start).days * 1440 + closes - opens
        if not 0 < span < 1440:
            raise Invalid(f"{at}.close_time", "A special hour period must cover less than 24 hours")
    for day in closed:
        if starts[day] > 1:
            raise Invalid(
                "special_hours.special_hour_periods",
                f"Conflicting special hours on {day.isoformat()}: closed and another period",
            )


def _date(value: Any, field: str) -> date:
    if not isinstance(value, dict):
        raise Invalid(field, "Field is required")
    try:
        return date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (KeyError, TypeError, ValueError):
        raise Invalid(field, f"Invalid date: {json.dumps(value)}") from None


def _minutes(value: Any, field: str) -> int:
    if not isinstance(value, dict):
        raise Invalid(field, "Field is required unless closed is true")
    hours, minutes = int(value.get("hours", 0)), int(value.get("minutes", 0))
    if not (0 <= hours <= 24 and 0 <= minutes <= 59) or (hours == 24 and minutes):
        raise Invalid(field, f"Invalid time: {hours:02d}:{minutes:02d}")
    return hours * 60 + minutes
