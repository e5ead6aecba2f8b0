"""Routers added to the app flat: their routes become the app's own.

FastAPI's `include_router` keeps an included router as one nested entry of the app's routes.
A request then matches twice at each level (the app asks the router whether one of its routes
matches, and the router looks again to pick it), with FastAPI's bookkeeping of the inclusion
around every candidate. On this machine that cost 13 µs per request before the first route is
even tried, and about 2.5 µs for each route ahead of the one that matches, against 1.4 µs on a
flat list: a third of a `book_record` request's routing went to the nesting. `include_flat`
adds each route of the router to the app's router through its public `add_api_route`, with the
settings the route was declared with, as FastAPI itself did before the nesting: the same paths
in the same order, the same OpenAPI document (`tests/test_openapi.py`), and the app's defaults
(response class, dependency overrides) as an inclusion would give them. See
docs/decisions/0016-flat-routes.md.

A request still meets every route ahead of its own, and each one that is not it cost about
1.5 µs to say so (FastAPI's and Starlette's `matches`: the route's path, its regular
expression). `PrefixRoute` first looks for the route path's literal start in the request's
path, and says no at once when it is not there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.routing import APIRoute
from starlette.routing import Match

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI
    from starlette.types import Scope


class PrefixRoute(APIRoute):
    """An `APIRoute` that refuses a path without its literal start (its path up to the first
    parameter) before FastAPI's `matches`. Sound for any path it is asked about: the path a
    route matches against is the request's path, or its end (a `root_path` cut off), and it
    must begin with that literal start."""

    def __init__(self, path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(path, *args, **kwargs)
        self.literal_start = path.split("{", 1)[0]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and self.literal_start not in scope["path"]:
            return Match.NONE, {}
        return super().matches(scope)


def include_flat(app: FastAPI, router: APIRouter, prefix: str = "") -> None:
    """Add every route of `router` to `app`, under `prefix`, in order. Only path operations
    (`APIRoute`): a router with mounts or other routes is refused."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r}: only path operations are added flat")
        app.router.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=route.responses,
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            route_class_override=type(route),
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            max_body_size=route.max_body_size,
            form_limits=route.form_limits,
        )
