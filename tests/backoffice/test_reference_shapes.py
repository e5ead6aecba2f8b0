"""The business side's answers against the YCLIENTS REST reference (its B2B paths, in
tests/reference/yclients-business.openapi.json). The reference declares no `required` lists;
here every declared property is required except the omissions in `OPTIONAL`, each explained in
docs/api-compat.md. Its few non-JSON-Schema type names (`Integer`, `float`, `bool`, `date`)
are read as what they mean."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from tests.backoffice.conftest import CAMILLE, DAY, NEW_YORK, Business
from tests.backoffice.test_business_api import service_of_camille, walk_in

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "yclients-business.openapi.json"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "yclients-rest.openapi.json"
TYPES = {"Integer": "integer", "float": "number", "bool": "boolean", "Object": "object"}
TYPES |= {"date": "string", "int": "integer"}
# Properties an answer leaves out, by dotted path ("[]" = every array item).
OPTIONAL = {
    "data.comer",  # no comers (who brought the client) are kept
    "data[].comer",
    "data.goods_transactions[]",
    "data[].goods_transactions[]",
    "data[].image_group",  # no pictures of team members are kept
    "data[].next_slot",  # `GET /companies`: only with forBooking=1, as without `my`
}


@cache
def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(REFERENCE.read_text("utf-8"))
    return loaded


def _strict(node: Any, path: str) -> Any:
    if isinstance(node, list):
        return [_strict(item, path) for item in node]
    if not isinstance(node, dict):
        return node
    result = {
        key: value for key, value in node.items() if key not in {"description", "title", "format"}
    }
    if not isinstance(result.get("properties", {}), dict):
        del result["properties"]  # a list in one place of the reference: read as unspecified
    if isinstance(result.get("type"), str):
        result["type"] = TYPES.get(result["type"], result["type"])
        if result.pop("nullable", False):
            result["type"] = [result["type"], "null"]
    if isinstance(node.get("properties"), dict):
        result["properties"] = {
            name: _strict(sub, f"{path}.{name}" if path else name)
            for name, sub in node["properties"].items()
        }
        result["required"] = [
            name
            for name in node["properties"]
            if (f"{path}.{name}" if path else name) not in OPTIONAL
        ]
    if isinstance(node.get("items"), dict):
        result["items"] = _strict(node["items"], f"{path}[]")
        if f"{path}[]" in OPTIONAL:
            result["items"] = {}
    for key in ("oneOf", "anyOf", "allOf"):
        if key in node:
            result[key] = [_strict(sub, path) for sub in node[key]]
    return result


def schema(path: str, method: str, status: str) -> dict[str, Any]:
    response = _document()["paths"][path][method]["responses"][status]
    strict = dict(_strict(response["content"]["application/json"]["schema"], ""))
    if (path, method) == ("/api/v1/record/{company_id}/{record_id}", "get"):
        # The reference types `client` a string here, and an object (or null) in its example
        # and in every other record answer: read as the latter (docs/api-compat.md).
        strict["properties"]["data"]["properties"]["client"] = {"type": ["object", "null"]}
    if path.startswith("/api/v1/activity/"):
        # Here the reference types the leader's `api_id` and `avatar_big` numbers, `position`
        # an array and `show_rating` a boolean, against its own example and its event search:
        # read as the search has them (docs/api-compat.md).
        staff = strict["properties"]["data"]["properties"]["staff"]["properties"]
        staff |= {
            "api_id": {"type": "string"},
            "avatar_big": {"type": "string"},
            "position": {"type": "object"},
            "show_rating": {"type": "integer"},
        }
    return strict


def assert_valid(instance: Any, path: str, method: str, status: str) -> None:
    validator = jsonschema.Draft202012Validator(schema(path, method, status))
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:15]
    )


def test_the_omissions_are_documented() -> None:
    document = (Path(__file__).resolve().parents[2] / "docs" / "api-compat.md").read_text("utf-8")
    section = document.split("## The business (B2B) paths", 1)[1]
    for path in OPTIONAL:
        assert f"`{path}`" in section, path


def test_the_copy_matches_the_shared_reference() -> None:
    if not SHARED.exists():
        return
    shared = json.loads(SHARED.read_text("utf-8"))
    for path, item in _document()["paths"].items():
        assert set(item) <= set(shared["paths"][path]), path


async def test_answers_match_the_reference(business: Business) -> None:
    owner = business.as_("owner")
    service = await service_of_camille(business)
    made = await walk_in(owner, service, "12:00")
    # The reference gives this answer a paging `meta` object; ours is `[]` (docs/api-compat.md).
    assert made.json()["success"] is True
    data_schema = schema("/api/v1/records/{company_id}", "post", "201")["properties"]["data"]
    assert not list(jsonschema.Draft202012Validator(data_schema).iter_errors(made.json()["data"]))
    record = made.json()["data"][0]
    listed = await owner.call("GET", f"/records/{NEW_YORK}")
    assert_valid(listed.json(), "/api/v1/records/{company_id}", "get", "200")
    path = f"/record/{NEW_YORK}/{record['id']}"
    one = await owner.call("GET", path)
    assert_valid(one.json(), "/api/v1/record/{company_id}/{record_id}", "get", "200")
    changed = await owner.call("PUT", path, {"comment": "x"})
    assert_valid(changed.json(), "/api/v1/record/{company_id}/{record_id}", "put", "201")
    staff = await owner.call("GET", f"/staff/{NEW_YORK}/{CAMILLE}")
    assert_valid(staff.json(), "/api/v1/staff/{company_id}/{staff_id}", "get", "200")
    found = await owner.call("GET", f"/services/{NEW_YORK}/{service}")
    assert_valid(found.json(), "/api/v1/services/{company_id}/{service_id}", "get", "200")
    clients = await owner.call("GET", f"/clients/{NEW_YORK}")
    assert_valid(clients.json(), "/api/v1/clients/{company_id}", "get", "200")
    client = await owner.call("GET", f"/client/{NEW_YORK}/{record['client']['id']}")
    # The reference gives `GET /client` only an example, of the same shape as a listed client.
    item = schema("/api/v1/clients/{company_id}", "get", "200")["properties"]["data"]["items"]
    assert not list(jsonschema.Draft202012Validator(item).iter_errors(client.json()["data"]))
    days = await owner.call("GET", f"/schedule/{NEW_YORK}/{CAMILLE}/{DAY}/{DAY}")
    reference = "/api/v1/schedule/{company_id}/{staff_id}/{start_date}/{end_date}"
    # The reference's schema here is one day (its example: `data` is a list of them).
    for day in days.json()["data"]:
        assert_valid(day, reference, "get", "200")
    mine = await owner.call("GET", "/companies", params={"my": 1})
    assert_valid(mine.json(), "/api/v1/companies", "get", "200")
    login = await business.http.post(
        "/api/v1/auth",
        json={"login": "owner@example.org", "password": "correct horse battery staple"},
        headers={"Authorization": f"Bearer {business.partner}"},
    )
    assert_valid(login.json()["data"], "/api/v1/auth", "post", "201")


async def test_group_event_answers_match_the_reference(business: Business) -> None:
    owner = business.as_("owner")
    service = await service_of_camille(business)
    body = {"date": f"{DAY}T14:00:00", "service_id": service, "staff_id": CAMILLE, "capacity": 4}
    made = await owner.call("POST", f"/activity/{NEW_YORK}", body)
    assert_valid(made.json(), "/api/v1/activity/{company_id}", "post", "200")
    path = f"/activity/{NEW_YORK}/{made.json()['data']['id']}"
    one = await owner.call("GET", path)
    assert_valid(one.json(), "/api/v1/activity/{company_id}/{activity_id}", "get", "200")
    changed = await owner.call("PUT", path, {"capacity": 6})
    assert_valid(changed.json(), "/api/v1/activity/{company_id}/{activity_id}", "put", "200")
    deleted = await owner.call("DELETE", path)
    assert deleted.status_code == 202
    assert deleted.json() == {"success": True, "data": None, "meta": {"message": "Accepted"}}
