"""Malformed input to the business endpoints is a 4xx envelope that changes nothing, never a
500; schedules are wall-clock time on the day the clocks go forward."""

from __future__ import annotations

from typing import Any

from tests.backoffice.conftest import CAMILLE, DAY, NEW_YORK, Business
from tests.backoffice.test_business_api import service_of_camille, walk_in

ODD_VALUES: list[Any] = [None, "", "x" * 5000, -1, 2**64, 1.5, [], {}, True, "\u0000", "😀"]


async def test_odd_values_in_every_field_are_refused_cleanly(business: Business) -> None:
    owner = business.as_("owner")
    service = await service_of_camille(business)
    record = (await walk_in(owner, service, "12:00")).json()["data"][0]
    good = {
        "staff_id": CAMILLE,
        "services": [{"id": service}],
        "datetime": f"{DAY}T13:00:00",
        "client": {"name": "Ada", "phone": "+12125550188"},
        "attendance": 1,
        "comment": "c",
        "save_if_busy": False,
    }
    day = {"date": "2026-12-24", "is_working": True, "slots": [{"from": "10:00", "to": "12:00"}]}
    targets = [
        ("POST", f"/records/{NEW_YORK}", good),
        ("PUT", f"/record/{NEW_YORK}/{record['id']}", good),
        ("PUT", f"/schedule/{NEW_YORK}/{CAMILLE}", day),
    ]
    for method, path, body in targets:
        for field in body:
            for value in ODD_VALUES:
                response = await owner.call(method, path, {**body, field: value})
                assert response.status_code < 500, (method, path, field, value, response.text)
                if response.status_code >= 400:
                    assert response.json()["success"] is False
    for raw in ([], [1, 2], "text", 7, [{"date": "2026-02-30", "is_working": True}]):
        response = await owner.call("PUT", f"/schedule/{NEW_YORK}/{CAMILLE}", raw)
        assert response.status_code == 422, raw
    for params in ({"count": 0}, {"page": "x"}, {"start_date": "2026-13-01"}, {"staff_id": -1}):
        response = await owner.call("GET", f"/records/{NEW_YORK}", params=params)
        assert response.status_code == 422, params
    listed = await owner.call("GET", f"/records/{NEW_YORK}")
    times = {item["date"] for item in listed.json()["data"]}
    assert f"{DAY} 12:00:00" in times


async def test_auth_with_odd_bodies(business: Business) -> None:
    headers = {"Authorization": f"Bearer {business.partner}"}
    for body in ({}, {"login": None}, {"login": "a", "password": 5}, {"login": ["x"]}, [1]):
        response = await business.http.post("/api/v1/auth", json=body, headers=headers)
        assert 400 <= response.status_code < 500, (body, response.text)
    broken = await business.http.post(
        "/api/v1/auth",
        content=b'{"login": ',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400


async def test_a_schedule_on_the_day_the_clocks_go_forward(business: Business) -> None:
    """New York, 14 March 2027: 02:00 does not exist; 01:30 + 45 min ends at 03:15 EDT."""
    owner = business.as_("owner")
    service = await service_of_camille(business)
    sunday = "2027-03-14"
    path = f"/schedule/{NEW_YORK}/{CAMILLE}/{sunday}/{sunday}"
    hours = [{"date": sunday, "is_working": True, "slots": [{"from": "01:00", "to": "06:00"}]}]
    assert (await owner.call("PUT", path, hours)).status_code == 200
    body = {
        "staff_id": CAMILLE,
        "services": [{"id": service}],
        "datetime": f"{sunday}T01:30:00",
        "client": {"name": "Ada", "phone": "+12125550188"},
        "save_if_busy": True,  # beyond the booking horizon
    }
    made = await owner.call("POST", f"/records/{NEW_YORK}", body)
    assert made.status_code == 201, made.text
    record = made.json()["data"][0]
    assert record["datetime"] == f"{sunday}T01:30:00-0500"
    ends_at = record["seance_length"]
    assert ends_at > 1800, "the visit runs past the missing hour"
    short = [{"date": sunday, "is_working": True, "slots": [{"from": "01:00", "to": "03:00"}]}]
    refused = await owner.call("PUT", path, short)
    assert refused.status_code == 409, "03:00 EDT is 07:00 UTC, before the visit ends"
    longer = [{"date": sunday, "is_working": True, "slots": [{"from": "01:00", "to": "04:00"}]}]
    assert (await owner.call("PUT", path, longer)).status_code == 200
