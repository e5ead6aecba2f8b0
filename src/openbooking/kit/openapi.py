"""The OpenAPI document: FastAPI's, plus what our own request and response handling declares.

Query strings and bodies are read by `kit.wire.query`/`kit.wire.body` (lenient array spellings,
strict JSON, form bodies), which FastAPI cannot see into; their models are added here. Success
answers are declared with `answers`, which can give each vendor's media type its own shape.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from fastapi import routing
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from openbooking.kit.envelope import ALTEGIO_MEDIA_TYPE, YCLIENTS_MEDIA_TYPE

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.dependencies.models import Dependant
    from pydantic import BaseModel

REF = "#/components/schemas/{model}"
_MODELS: dict[str, type[BaseModel]] = {}  # every model `answers` named
_PLACEHOLDER = "x-model:"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    """A placeholder that `build` replaces with the model's component reference."""
    key = f"{model.__module__}.{model.__qualname__}"
    _MODELS[key] = model
    return {"$ref": _PLACEHOLDER + key}


def answers(
    status: int,
    model: type[BaseModel],
    *,
    yclients: type[BaseModel] | None = None,
    description: str = "Success",
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: `model` in JSON and the Altegio media type, `yclients` (when
    the YCLIENTS reference types the answer differently) in the YCLIENTS one."""
    ours = _ref(model)
    return {
        status: {
            "description": description,
            "content": {
                "application/json": {"schema": ours},
                ALTEGIO_MEDIA_TYPE: {"schema": ours},
                YCLIENTS_MEDIA_TYPE: {"schema": _ref(yclients) if yclients else ours},
            },
        }
    }


def _dependencies(dependant: Dependant) -> list[Any]:
    found = [dependant.call]
    for sub in dependant.dependencies:
        found.extend(_dependencies(sub))
    return found


def _query_parameters(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    parameters = []
    for name, field_schema in schema.get("properties", {}).items():
        description = field_schema.get("description", "")
        if field_schema.get("type") == "array":
            spellings = f"`{name}[]=1&{name}[]=2`, `{name}=1,2` or `{name}=1&{name}=2`"
            description = f"{description} {spellings}".strip()
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": field_schema,
        }
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _body(model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    defs[model.__name__] = schema
    ref = {"$ref": REF.format(model=model.__name__)}
    content = {"application/json": {"schema": ref}}
    if all(_flat(field) for field in schema.get("properties", {}).values()):
        # Form fields can carry only flat values (the logins some SDKs post as forms).
        content["application/x-www-form-urlencoded"] = {"schema": ref}
    return {"required": True, "content": content}


def _flat(field: dict[str, Any]) -> bool:
    return "$ref" not in str(field) and "array" not in str(field) and "object" not in str(field)


def build(app: FastAPI) -> dict[str, Any]:
    """The document `/openapi.json` serves (built once per app)."""
    if app.openapi_schema:
        return app.openapi_schema
    # A copy: the generated document shares dicts with the routes' `responses`, which every app
    # built in this process reads.
    document = copy.deepcopy(
        get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
    )
    defs: dict[str, Any] = {}
    for route in routing.iter_route_contexts(app.routes):
        if not isinstance(route.original_route, routing.APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = document["paths"][route.path_format][method.lower()]
            for call in _dependencies(route.dependant):
                if (model := getattr(call, "wire_query", None)) is not None:
                    operation.setdefault("parameters", []).extend(_query_parameters(model, defs))
                if (model := getattr(call, "wire_body", None)) is not None:
                    operation["requestBody"] = _body(model, defs)
    refs, answer_schemas = models_json_schema(
        [(model, "validation") for model in _MODELS.values()], ref_template=REF
    )
    defs.update(answer_schemas.get("$defs", {}))
    by_key = {key: refs[(model, "validation")] for key, model in _MODELS.items()}
    _resolve_placeholders(document["paths"], by_key)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    _drop_fastapi_validation_errors(document["paths"], components)
    components.update(defs)
    app.openapi_schema = document
    return document


def _resolve_placeholders(node: Any, refs: dict[str, Any]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_PLACEHOLDER):
            node.clear()  # FastAPI may have merged its own `{"type": "string"}` in
            node.update(refs[ref.removeprefix(_PLACEHOLDER)])
        for value in node.values():
            _resolve_placeholders(value, refs)
    elif isinstance(node, list):
        for value in node:
            _resolve_placeholders(value, refs)


def _drop_fastapi_validation_errors(paths: dict[str, Any], components: dict[str, Any]) -> None:
    """FastAPI adds a 422 `HTTPValidationError` to every operation with parameters; our error
    handler never sends that shape, and each route declares its own 422 (`ErrorEnvelope`)."""
    fastapi_422 = {"$ref": REF.format(model="HTTPValidationError")}
    for item in paths.values():
        for operation in item.values():
            response = operation.get("responses", {}).get("422", {})
            if response.get("content", {}).get("application/json", {}).get("schema") == fastapi_422:
                del operation["responses"]["422"]
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)


def install(app: FastAPI) -> None:
    app.openapi = lambda: build(app)  # type: ignore[method-assign]
