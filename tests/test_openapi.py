from __future__ import annotations

import json
from pathlib import Path

from openbooking.app import create_app
from openbooking.config import Settings

SNAPSHOT = Path(__file__).resolve().parents[1] / "openapi.json"


def test_openapi_matches_the_committed_contract() -> None:
    """A deliberate API change regenerates the snapshot with `make openapi`."""
    current = create_app(Settings(database_url="sqlite+aiosqlite://")).openapi()
    committed = json.loads(SNAPSHOT.read_text("utf-8"))
    assert current == committed, "API changed: review it, then run `make openapi`"


def test_every_api_path_is_documented() -> None:
    paths = json.loads(SNAPSHOT.read_text("utf-8"))["paths"]
    for expected in (
        "/api/v1/bookform/{bookform_id}",
        "/api/v1/i18n/{lang_code}",
        "/api/v1/privacy_policy/{location_id}",
        "/api/v1/companies",
        "/api/v1/company/{location_id}",
        "/api/v1/book_services/{location_id}",
    ):
        assert expected in paths
