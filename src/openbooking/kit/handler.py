"""A route's request handler without FastAPI's generic dependency solving, for the one shape
our endpoints have.

FastAPI's handler (`fastapi.routing.get_request_handler`) serves every kind of endpoint (bodies
it reads itself, generators, streams, response models, telemetry), and its
`solve_dependencies` solves each dependency node in a round of its own: a dummy response, the
node's path, query, header and cookie parameters looked up even when it has none, a cache key.
On `book_times` that was a third of the request's CPU. Our endpoints are `async def`s that
return a `Response`; their dependencies are `async def`s of the request alone (the session,
the dialect, a query or body model, the partner, the verification context) and their own
parameters are path and query parameters. For that shape `direct_handler` builds a handler
that awaits each dependency in order (once per request, as FastAPI caches them), validates the
parameters as FastAPI does (the same values and the same errors, in the same order:
dependencies first, then path, query, header and cookie parameters; any error is a
`RequestValidationError`): plain path and header parameters by their own fields, the others
through FastAPI's `request_params_to_args`, and awaits the endpoint. A route of any other
shape keeps FastAPI's handler, and so does every request while the app has
`dependency_overrides` set.
See docs/decisions/0017-direct-handler.md.
"""

from __future__ import annotations

import inspect
from datetime import date, datetime
from types import UnionType
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

from fastapi import BackgroundTasks, params
from fastapi.dependencies.utils import get_typed_return_annotation, request_params_to_args
from fastapi.exceptions import RequestValidationError
from pydantic import Json
from starlette.responses import Response

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Mapping

    from fastapi import Request
    from fastapi._compat import ModelField
    from fastapi.dependencies.models import Dependant
    from fastapi.routing import APIRoute

    Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def direct_handler(route: APIRoute, dependant: Dependant, fallback: Handler) -> Handler | None:
    """The handler of `route` (its `dependant` as FastAPI would solve it) for our endpoints'
    shape, or None when the route has another; `fallback` is FastAPI's own handler for the
    same dependant, taken while dependency overrides are set."""
    if not _direct(route, dependant):
        return None
    endpoint = dependant.call
    assert endpoint is not None
    nodes = _nodes(dependant)
    # Each kind of parameter in FastAPI's order: (its plain fields, or None, and its fields).
    steps = [
        (plain(fields) if plain is not None else None, fields, source)
        for fields, plain, source in (
            (dependant.path_params, _path_fields, _path),
            (dependant.query_params, None, _query),
            (dependant.header_params, _header_fields, _headers),
            (dependant.cookie_params, None, _cookies),
        )
        if fields
    ]
    request_name = dependant.request_param_name
    tasks_name = dependant.background_tasks_param_name
    overrides = route.dependency_overrides_provider

    async def handler(request: Request) -> Response:
        if overrides is not None and getattr(overrides, "dependency_overrides", None):
            return await fallback(request)
        values = await _solve(nodes, request, {})
        errors: list[Any] = []
        for plain, fields, source in steps:
            if plain is not None:
                errors += _validate_plain(plain, source(request), values)
            else:
                found, wrong = request_params_to_args(fields, source(request))
                values.update(found)
                errors += wrong
        if errors:
            raise RequestValidationError(errors)
        if request_name is not None:
            values[request_name] = request
        tasks = None
        if tasks_name is not None:
            tasks = values[tasks_name] = BackgroundTasks()
        response = await endpoint(**values)
        if not isinstance(response, Response):  # the annotation promised one
            raise TypeError(f"{route.path}: the endpoint returned {type(response).__name__}")
        if response.background is None:
            response.background = tasks
        return response

    return handler


# Parameter types taken by `_validate_plain` (what a path segment or a header becomes).
_SCALARS = (int, str, float, bool, date, datetime)
_IMMUTABLE = (type(None), int, str, float, bool, date, datetime)

# A plain parameter: its field, its name in the path or among the headers, its error location,
# and (a header) its default when the request has none.
_Plain = tuple["ModelField", str, tuple[str, str], Any]


def _path_fields(fields: list[ModelField]) -> list[_Plain] | None:
    """The path parameters as `_validate_plain` takes them, or None when one of them is not a
    plain path parameter (a model, a validation alias): `request_params_to_args` takes those."""
    if not all(
        isinstance(field.field_info, params.Path) and _plain_type(field) for field in fields
    ):
        return None
    return [(field, field.alias, ("path", field.alias), None) for field in fields]


def _header_fields(fields: list[ModelField]) -> list[_Plain] | None:
    """The header parameters as `_validate_plain` takes them, or None when one of them is not
    a plain optional header: of a scalar type or None, not required, with an immutable default
    that is not validated (what a missing header becomes without validation)."""
    plain = []
    for field in fields:
        info = field.field_info
        if (
            not isinstance(info, params.Header)
            or not _plain_type(field, optional=True)
            or info.is_required()
            or info.validate_default
            or not isinstance(field.default, _IMMUTABLE)
        ):
            return None
        plain.append((field, field.alias, ("header", field.alias), field.default))
    return plain


def _plain_type(field: ModelField, *, optional: bool = False) -> bool:
    """A scalar (`optional`: or a scalar or None), no validation alias but the alias itself (as
    `Header(alias=...)` sets it), no JSON."""
    info = field.field_info
    kinds = (info.annotation,)
    if optional and get_origin(info.annotation) in (Union, UnionType):
        kinds = tuple(kind for kind in get_args(info.annotation) if kind is not type(None))
    return (
        info.validation_alias in (None, field.alias)
        and all(kind in _SCALARS for kind in kinds)
        and not any(type(item) is Json for item in info.metadata)
    )


def _validate_plain(
    fields: list[_Plain], found: Mapping[str, Any], values: dict[str, Any]
) -> list[Any]:
    """What `request_params_to_args` does for plain path or header parameters, without its
    generic look-ups per field (whether the annotation is a sequence, which aliases, which
    source): each value found under the parameter's name (a path parameter is always there:
    the route's own pattern named it) validated by its field at its location; a header not
    sent takes its default."""
    own: dict[str, Any] = {}
    wrongs: list[Any] = []
    for field, alias, loc, default in fields:
        given = found.get(alias)
        if given is None:
            own[field.name] = default
            continue
        value, wrong = field.validate(given, own, loc=loc)
        if wrong:
            wrongs += wrong
        else:
            own[field.name] = value
    values.update(own)
    return wrongs


# A dependency: its name (None: unnamed), its call, the name of its request parameter, its
# cache key, whether it is cached, and its own dependencies.
_Node = tuple[str | None, Any, str | None, Any, bool, tuple[Any, ...]]


def _nodes(dependant: Dependant) -> tuple[_Node, ...]:
    return tuple(
        (
            node.name,
            node.call,
            node.request_param_name,
            (node.call, node.scope),
            node.use_cache,
            _nodes(node),
        )
        for node in dependant.dependencies
    )


async def _solve(
    nodes: tuple[_Node, ...], request: Request, solved: dict[Any, Any]
) -> dict[str, Any]:
    """The values of `nodes` as FastAPI's `solve_dependencies` gives them: depth first, in
    order, a cached dependency called once per request."""
    values: dict[str, Any] = {}
    for name, call, request_param, key, cached, children in nodes:
        arguments = await _solve(children, request, solved) if children else {}
        if cached and key in solved:
            value = solved[key]
        else:
            if request_param is not None:
                arguments[request_param] = request
            value = await call(**arguments)
            solved.setdefault(key, value)
        if name is not None:
            values[name] = value
    return values


def _direct(route: APIRoute, dependant: Dependant) -> bool:
    """Whether the route has the shape `direct_handler` serves (see the module's text)."""
    return (
        route.body_field is None
        and route.response_field is None
        and not route.is_sse_stream
        and not route.is_json_stream
        and not dependant.body_params
        and _returns_response(dependant.call)
        and not _special_parameters(dependant, allowed=dependant.background_tasks_param_name)
        and all(_plain(node) for node in dependant.dependencies)
    )


def _plain(node: Dependant) -> bool:
    """An `async def` of the request and of other such dependencies only."""
    return (
        _is_async_function(node.call)
        and not (
            node.path_params
            or node.query_params
            or node.header_params
            or node.cookie_params
            or node.body_params
        )
        and not _special_parameters(node)
        and node.concurrency is None
        and all(_plain(child) for child in node.dependencies)
    )


def _special_parameters(node: Dependant, allowed: str | None = None) -> bool:
    """Parameters FastAPI fills with something other than the request (but `allowed`)."""
    return bool(
        node.websocket_param_name
        or node.http_connection_param_name
        or node.response_param_name
        or (node.background_tasks_param_name and node.background_tasks_param_name != allowed)
        or node.security_scopes_param_name
        or node.own_oauth_scopes
        or node.parent_oauth_scopes
    )


def _returns_response(call: Any) -> bool:
    if not inspect.isfunction(call) or not inspect.iscoroutinefunction(call):
        return False
    returned = get_typed_return_annotation(call)  # as FastAPI reads it
    return inspect.isclass(returned) and issubclass(returned, Response)


def _is_async_function(call: Any) -> bool:
    """An `async def`, or an object whose `__call__` is one (a security scheme)."""
    if inspect.isfunction(call) or inspect.ismethod(call):
        return inspect.iscoroutinefunction(call)
    return callable(call) and inspect.iscoroutinefunction(type(call).__call__)


def _path(request: Request) -> Any:
    return request.path_params


def _query(request: Request) -> Any:
    return request.query_params


def _headers(request: Request) -> Any:
    return request.headers


def _cookies(request: Request) -> Any:
    return request.cookies
