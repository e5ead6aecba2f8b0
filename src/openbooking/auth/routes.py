"""The API routers' route class: the partner check before FastAPI's dependency solving.

Every API router declares `Depends(require_partner)`, and every request paid for it twice: the
check itself (about 9 µs) and FastAPI's solving of its node (a recursive round of parameter,
cache-key and callable checks, about 45 µs more on this machine), on every API request. This
route class keeps the node in the route's dependant, which the OpenAPI document is built from
(the `partner` security scheme, on every API operation), but serves the request with a copy of
the dependant without it, and runs the check itself first: the same call, before the same
first step (the router's dependency is the first node solved), so the answers and their order
(401 before any 400 or 422) stay those of the dependency. See decision 0013.

A route with a body FastAPI reads itself (`body_field`) keeps the node as it is: FastAPI reads
such a body before the dependencies, and a malformed one answers 400 before the token is
looked at. Our endpoints read their bodies through dependencies (`kit.wire.body`), after the
partner node, so none has one today.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from openbooking.auth.dependencies import PARTNER_KEY, require_partner
from openbooking.deps import WorkRoute, effective_route

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from fastapi import Request
    from fastapi.dependencies.models import Dependant
    from starlette.responses import Response

    Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PartnerRoute(WorkRoute):
    """An `APIRoute` whose router-level `Depends(require_partner)` runs before dependency
    solving instead of inside it; the partner is left in the scope for `PartnerDep`. The
    request's unit of work, if the endpoint needs one, is opened after the check
    (`WorkRoute`)."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        route = effective_route(self)
        dependant: Dependant | None = getattr(route, "dependant", None)
        if dependant is None or getattr(route, "body_field", None) is not None:
            return handler
        kept = [node for node in dependant.dependencies if not _is_router_check(node)]
        if len(kept) == len(dependant.dependencies):
            return handler
        # FastAPI's own handler, built for a dependant without the check's node.
        route.dependant = dataclasses.replace(dependant, dependencies=kept)
        try:
            solve = super().get_route_handler()
        finally:
            route.dependant = dependant

        async def checked(request: Request) -> Response:
            request.scope[PARTNER_KEY] = await require_partner(request)
            return await solve(request)

        return checked


def _is_router_check(node: Dependant) -> bool:
    """The router's `Depends(require_partner)` (unnamed); an endpoint's own `PartnerDep`
    is named and stays, answered from the scope."""
    return node.call is require_partner and node.name is None
