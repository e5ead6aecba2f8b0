"""`GET /validation/validate_phone/{phone}` (YCLIENTS): valid or not, and the number normalised."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from openbooking.kit.envelope import Dialect

if TYPE_CHECKING:
    from tests.conftest import Api


@pytest.mark.usefixtures("demo")
class TestValidatePhone:
    @pytest.mark.parametrize(
        ("dialect", "raw", "normalised"),
        [
            (Dialect.ALTEGIO, "+4915112345678", "+4915112345678"),
            (Dialect.ALTEGIO, "4915112345678", "+4915112345678"),
            (Dialect.YCLIENTS, "+79161234567", "79161234567"),
            (Dialect.YCLIENTS, "79161234567", "79161234567"),
            (Dialect.ALTEGIO, "+1 (212) 555-0123", "+12125550123"),
        ],
    )
    async def test_a_valid_number(
        self, api: Api, dialect: Dialect, raw: str, normalised: str
    ) -> None:
        response = await api.get(f"/validation/validate_phone/{raw}", dialect=dialect)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "success": True,
            "data": {"is_valid": True, "phone": normalised},
            "meta": [],
        }

    @pytest.mark.parametrize(
        "raw", ["12345", "+71234567890", "not-a-phone", "9" * 40, "+49 151 1234 567x", "%00"]
    )
    async def test_an_invalid_number(self, api: Api, raw: str) -> None:
        response = await api.get(f"/validation/validate_phone/{raw}")
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"is_valid": False, "phone": None}

    async def test_the_reference_example_keys_and_the_rules_of_every_endpoint(
        self, api: Api
    ) -> None:
        found = await api.get("/validation/validate_phone/79161234567/", dialect=Dialect.YCLIENTS)
        assert found.status_code == 200
        assert isinstance(found.json()["data"]["is_valid"], bool)  # the reference's one key
        anonymous = await api.client.get("/api/v1/validation/validate_phone/79161234567")
        assert anonymous.status_code == 401
