"""The partner check reads the request's `Authorization` header from the ASGI headers itself:
the first such header counts, as it did through Starlette's `request.headers`, and a missing or
malformed one is 401."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.conftest import Api

I18N = "/api/v1/i18n/en-US"


class TestAuthorizationHeader:
    async def test_the_first_authorization_header_counts(self, api: Api) -> None:
        valid = ("Authorization", f"Bearer {api.token}")
        invalid = ("Authorization", "Bearer not-a-token")
        assert (await api.client.get(I18N, headers=[valid, invalid])).status_code == 200
        assert (await api.client.get(I18N, headers=[invalid, valid])).status_code == 401

    async def test_the_header_name_is_case_blind(self, api: Api) -> None:
        answer = await api.client.get(I18N, headers={"AUTHORIZATION": f"bearer {api.token}"})
        assert answer.status_code == 200

    async def test_missing_or_malformed_is_401(self, api: Api) -> None:
        for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}):
            answer = await api.client.get(I18N, headers=headers)
            assert answer.status_code == 401, headers
            assert answer.json()["success"] is False
