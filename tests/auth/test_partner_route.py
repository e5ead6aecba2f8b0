"""The API routers' route class (`auth.routes.PartnerRoute`) runs the partner check before
FastAPI's dependency solving: it must refuse what the dependency refused, with the same answer,
and leave the OpenAPI document declaring the `partner` scheme on every API operation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from fastapi import APIRouter, Depends, routing

from openbooking.auth.cache import PartnerCache
from openbooking.auth.dependencies import require_partner
from openbooking.auth.routes import PartnerRoute
from openbooking.catalog.endpoints import get_i18n
from openbooking.kit.envelope import ERROR_RESPONSES, Dialect
from openbooking.partners import service as partners
from tests.conftest import MEDIA_TYPES

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from tests.conftest import Api

ROUTED = "/api/v1/i18n/en-US"  # served by PartnerRoute
PLAIN = "/plain/i18n/en-US"  # the same endpoint behind FastAPI's own dependency solving


@pytest.fixture
def plain(app: FastAPI) -> None:
    """The i18n endpoint again, on a plain `APIRouter` whose partner check is a dependency
    FastAPI solves, as every API route's was before the route class."""
    router = APIRouter(dependencies=[Depends(require_partner)], responses=ERROR_RESPONSES)
    router.add_api_route("/plain/i18n/{lang_code}", get_i18n, methods=["GET"])
    app.include_router(router)


def answer_of(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    return response.status_code, response.content, headers


async def both(api: Api, headers: dict[str, str]) -> tuple[Any, Any]:
    routed = await api.client.get(ROUTED, headers=headers)
    plain = await api.client.get(PLAIN, headers=headers)
    return answer_of(routed), answer_of(plain)


@pytest.mark.usefixtures("plain")
class TestPartnerRoute:
    async def test_refuses_what_the_dependency_refuses_with_the_same_answer(self, api: Api) -> None:
        refused: tuple[dict[str, str], ...] = (
            {},
            {"Authorization": "Basic abc"},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer not-a-token"},
            {"Authorization": "Bearer obw_1_not-a-form-key"},
        )
        for dialect in Dialect:
            for headers in refused:
                sent = {**headers, "Accept": MEDIA_TYPES[dialect]}
                routed, plain = await both(api, sent)
                assert routed[0] == 401, sent
                assert routed == plain, sent
        routed, plain = await both(api, {"Authorization": f"Bearer {api.token}"})
        assert routed[0] == 200
        assert routed == plain

    async def test_a_revoked_token_is_refused(
        self, app: FastAPI, api: Api, run_in_session: Any
    ) -> None:
        app.state.partners = PartnerCache(0)  # OPENBOOKING_PARTNER_CACHE_SECONDS=0
        sent = {"Authorization": f"Bearer {api.token}"}
        assert (await api.client.get(ROUTED, headers=sent)).status_code == 200
        await run_in_session(lambda session: partners.revoke(session, "tests"))
        routed, plain = await both(api, sent)
        assert routed[0] == 401
        assert routed == plain


class TestRefusedBeforeAnythingElse:
    async def test_a_bad_token_is_401_before_a_bad_path_query_or_body(self, api: Api) -> None:
        bad = {"Authorization": "Bearer not-a-token", "Content-Type": "application/json"}
        for method, path, body in (
            ("GET", "/api/v1/bookform/not-a-number", None),
            ("GET", "/api/v1/companies?my=maybe", None),
            ("POST", "/api/v1/book_record/1", b"{not json"),
        ):
            response = await api.client.request(method, path, headers=bad, content=body)
            assert response.status_code == 401, path


class TestOpenApi:
    def test_every_api_operation_declares_the_partner_scheme(self, app: FastAPI) -> None:
        document = app.openapi()
        assert document["components"]["securitySchemes"]["partner"] == {
            "type": "http",
            "description": "The partner token; for a customer's calls "
            "`<partner token>, User <user token>`.",
            "scheme": "bearer",
        }
        operations = [
            (path, operation)
            for path, item in document["paths"].items()
            if path.startswith("/api/v1/")
            for operation in item.values()
        ]
        assert len(operations) > 40
        for path, operation in operations:
            assert operation["security"] == [{"partner": []}], path

    def test_every_api_route_checks_the_partner_before_its_dependencies(self, app: FastAPI) -> None:
        api_routes = [
            context.original_route
            for context in routing.iter_route_contexts(app.routes)
            if isinstance(context.original_route, routing.APIRoute)
            and (context.path_format or "").startswith("/api/v1/")
        ]
        assert len(api_routes) > 40
        for route in api_routes:
            assert isinstance(route, PartnerRoute), route.path
