"""FakeGoogleBusiness behaves like the Business Information API and Google's token endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import Running, running
from .google_business import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, SCOPE, FakeGoogleBusiness

Gbp = Running[FakeGoogleBusiness]
LOCATION = "1111111111"
HAND_MADE = {
    "startDate": {"year": 2024, "month": 12, "day": 24},
    "endDate": {"year": 2024, "month": 12, "day": 24},
    "openTime": {"hours": 9},
    "closeTime": {"hours": 13},
}


@pytest.fixture
def gbp() -> Iterator[Gbp]:
    with running(FakeGoogleBusiness({LOCATION: [HAND_MADE]})) as r:
        yield r


def token(gbp: Gbp, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "scope": SCOPE,
    } | overrides
    return gbp.client.post("/token", data=form)


def auth(gbp: Gbp) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(gbp).json()['access_token']}"}


def closed(year: int, month: int, day: int, **extra: Any) -> dict[str, Any]:
    return {"startDate": {"year": year, "month": month, "day": day}, "closed": True, **extra}


def patch(gbp: Gbp, periods: list[dict[str, Any]], **query: str) -> httpx.Response:
    params = {"updateMask": "specialHours", **query}
    body = {"specialHours": {"specialHourPeriods": periods}}
    return gbp.client.patch(
        f"/v1/locations/{LOCATION}", params=params, json=body, headers=auth(gbp)
    )


def error(response: httpx.Response) -> tuple[int, str, list[str]]:
    body = response.json()["error"]
    assert body["code"] == response.status_code
    fields = [v["field"] for d in body.get("details", []) for v in d["fieldViolations"]]
    return response.status_code, body["status"], fields


# OAuth2 ------------------------------------------------------------------------------------


def test_the_refresh_grant_issues_a_bearer_token(gbp: Gbp) -> None:
    body = token(gbp).json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert body["access_token"].startswith("ya29.") and body["scope"] == SCOPE


@pytest.mark.parametrize(
    ("override", "status", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"refresh_token": "1//other"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"scope": "https://www.googleapis.com/auth/drive"}, 400, "invalid_scope"),
    ],
)
def test_the_token_endpoint_refuses_like_google(
    gbp: Gbp, override: dict[str, str], status: int, code: str
) -> None:
    response = token(gbp, **override)
    assert response.status_code == status and response.json()["error"] == code


def test_api_calls_need_a_current_token(gbp: Gbp) -> None:
    url = f"/v1/locations/{LOCATION}?readMask=specialHours"
    assert error(gbp.client.get(url))[:2] == (401, "UNAUTHENTICATED")
    headers = auth(gbp)
    assert gbp.client.get(url, headers=headers).status_code == 200
    gbp.fake.expire_access_tokens()
    assert gbp.client.get(url, headers=headers).status_code == 401


# GET ---------------------------------------------------------------------------------------


def test_get_returns_the_fields_of_the_read_mask(gbp: Gbp) -> None:
    url = f"/v1/locations/{LOCATION}"
    got = gbp.client.get(url, params={"readMask": "specialHours"}, headers=auth(gbp)).json()
    assert got == {
        "name": f"locations/{LOCATION}",
        "specialHours": {"specialHourPeriods": [HAND_MADE]},
    }
    assert error(gbp.client.get(url, headers=auth(gbp))) == (400, "INVALID_ARGUMENT", ["read_mask"])
    gbp.fake.add_location("2222222222")
    empty = gbp.client.get(
        "/v1/locations/2222222222", params={"readMask": "specialHours"}, headers=auth(gbp)
    )
    assert empty.json() == {"name": "locations/2222222222"}  # no specialHours key at all


def test_an_unknown_location_is_404(gbp: Gbp) -> None:
    response = gbp.client.get("/v1/locations/999?readMask=specialHours", headers=auth(gbp))
    assert error(response)[:2] == (404, "NOT_FOUND")


# PATCH -------------------------------------------------------------------------------------


def test_the_update_mask_replaces_the_whole_list(gbp: Gbp) -> None:
    response = patch(gbp, [closed(2024, 3, 26), closed(2024, 3, 27)])
    assert response.status_code == 200
    assert gbp.fake.closed_days(LOCATION) == ["2024-03-26", "2024-03-27"]
    assert HAND_MADE not in gbp.fake.special_hours[LOCATION]  # not sent, so gone


def test_validate_only_checks_without_changing(gbp: Gbp) -> None:
    assert patch(gbp, [closed(2024, 3, 26)], validateOnly="true").status_code == 200
    assert gbp.fake.special_hours[LOCATION] == [HAND_MADE] and gbp.fake.patches == []
    bad = patch(gbp, [closed(2024, 2, 30)], validateOnly="true")
    assert error(bad)[:2] == (400, "INVALID_ARGUMENT")


def test_closed_ignores_times(gbp: Gbp) -> None:
    period = closed(2024, 3, 26, openTime={"hours": 30}, closeTime={"hours": 99})
    assert patch(gbp, [period]).status_code == 200


@pytest.mark.parametrize(
    ("period", "field"),
    [
        (closed(2024, 2, 30), "special_hours.special_hour_periods[0].start_date"),
        ({"closed": True}, "special_hours.special_hour_periods[0].start_date"),
        (
            {"startDate": {"year": 2024, "month": 3, "day": 26}, "openTime": {"hours": 9}},
            "special_hours.special_hour_periods[0].close_time",
        ),
        (  # 09:00 to 09:00 the next day: 24 hours
            HAND_MADE
            | {"endDate": {"year": 2024, "month": 12, "day": 25}, "closeTime": {"hours": 9}},
            "special_hours.special_hour_periods[0].close_time",
        ),
        (
            HAND_MADE | {"endDate": {"year": 2024, "month": 12, "day": 27}},
            "special_hours.special_hour_periods[0].end_date",
        ),
        (
            HAND_MADE | {"closeTime": {"hours": 24, "minutes": 30}},
            "special_hours.special_hour_periods[0].close_time",
        ),
    ],
)
def test_invalid_periods_are_refused_with_the_field(
    gbp: Gbp, period: dict[str, Any], field: str
) -> None:
    assert error(patch(gbp, [period])) == (400, "INVALID_ARGUMENT", [field])
    assert gbp.fake.special_hours[LOCATION] == [HAND_MADE]


def test_a_period_may_run_past_midnight_to_the_next_day(gbp: Gbp) -> None:
    late = HAND_MADE | {
        "openTime": {"hours": 18},
        "endDate": {"year": 2024, "month": 12, "day": 25},
        "closeTime": {"hours": 2},
    }
    assert patch(gbp, [late]).status_code == 200


def test_a_closed_day_cannot_carry_a_second_period(gbp: Gbp) -> None:
    response = patch(gbp, [HAND_MADE, closed(2024, 12, 24)])
    assert error(response)[:2] == (400, "INVALID_ARGUMENT")


def test_the_update_mask_is_required(gbp: Gbp) -> None:
    response = gbp.client.patch(f"/v1/locations/{LOCATION}", json={}, headers=auth(gbp))
    assert error(response) == (400, "INVALID_ARGUMENT", ["update_mask"])


# Faults ------------------------------------------------------------------------------------


def test_faults_use_googles_error_shape(gbp: Gbp) -> None:
    gbp.fake.fail_with_429(on="locations")
    gbp.fake.fail_with_5xx(503, on="locations")
    url = f"/v1/locations/{LOCATION}?readMask=specialHours"
    assert error(gbp.client.get(url, headers=auth(gbp)))[:2] == (429, "RESOURCE_EXHAUSTED")
    assert error(gbp.client.get(url, headers=auth(gbp)))[:2] == (503, "UNAVAILABLE")
    assert gbp.client.get(url, headers=auth(gbp)).status_code == 200
