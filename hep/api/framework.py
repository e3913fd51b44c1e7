"""Declare an endpoint once: its pydantic models validate the request, shape the response and
generate the OpenAPI 3.1 document at /api/v1/openapi.json.

    @endpoint(bp, "/sessions", "POST", body=SessionSubmission, responses={201: SessionOut})
    def create_session(body: SessionSubmission): ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from hep.timeutil import utcnow

REF_TEMPLATE = "#/components/schemas/{model}"


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """422: one entry per field that was wrong, with a plain message."""

    detail: list[ErrorItem]


class ErrorOut(BaseModel):
    error: str
    status: int


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    view_name: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: dict[int, type[BaseModel] | None]
    tags: list[str] = field(default_factory=list)
    auth: bool = True
    role: str | None = None


REGISTRY: list[Operation] = []


def validation_error(exc: ValidationError) -> Response:
    detail = [
        {
            "loc": [str(p) if not isinstance(p, int) else p for p in err["loc"]],
            "msg": err["msg"].removeprefix("Value error, "),
            "type": err["type"],
        }
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    return unprocessable(detail)


def unprocessable(detail: list[dict[str, Any]]) -> Response:
    """A 422 in the same shape as a validation error, for checks made after validation."""
    response = jsonify(detail=detail)
    response.status_code = 422
    return response


def endpoint(
    bp: Blueprint,
    path: str,
    method: str,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | None],
    tags: tuple[str, ...] = (),
    auth: bool = True,
    role: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a JSON endpoint: the view gets `body=`/`query=` models and returns
    (model, status) or a model; the first response code is the default.

    With `auth` (the default) a signed-out caller gets 401 and, with `role`, anyone else 403,
    before the body is read. Bodies are validated with `context={"now": utcnow()}`.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(**kwargs: Any) -> Any:
            if auth and not current_user.is_authenticated:
                abort(401)
            if role is not None and current_user.role != role:
                abort(403)
            try:
                if body is not None:
                    payload = request.get_json(silent=True)
                    if not isinstance(payload, dict):
                        return jsonify(
                            detail=[
                                {
                                    "loc": ["body"],
                                    "msg": "Send a JSON object",
                                    "type": "json_invalid",
                                }
                            ]
                        ), 422
                    kwargs["body"] = body.model_validate(payload, context={"now": utcnow()})
                if query is not None:
                    kwargs["query"] = query.model_validate(request.args.to_dict())
            except ValidationError as exc:
                return validation_error(exc)
            result = view(**kwargs)
            status = next(iter(responses))
            if isinstance(result, tuple):
                result, status = result
            if isinstance(result, BaseModel):
                response = Response(result.model_dump_json(), mimetype="application/json")
                response.status_code = status
                return response
            return result

        bp.add_url_rule(path, view_func=wrapped, methods=[method])
        REGISTRY.append(
            Operation(
                path=(bp.url_prefix or "") + path,
                method=method.lower(),
                summary=summary,
                view_name=view.__name__,
                body=body,
                query=query,
                responses=responses,
                tags=list(tags),
                auth=auth,
                role=role,
            )
        )
        return wrapped

    return decorator


def _openapi_path(path: str) -> tuple[str, list[dict]]:
    """Flask's /things/<int:thing_id> → OpenAPI's /things/{thing_id} with its parameter."""
    params = []
    parts = []
    for part in path.split("/"):
        if part.startswith("<") and part.endswith(">"):
            conv, _, name = part[1:-1].rpartition(":")
            kind = {"int": "integer"}.get(conv, "string")
            params.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": kind, **({"minimum": 1} if kind == "integer" else {})},
                }
            )
            parts.append("{" + name + "}")
        else:
            parts.append(part)
    return "/".join(parts), params


def openapi_document(title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered endpoint, schemas from their models."""
    # Request models are described as they validate input, responses as they serialise.
    keys: set[tuple[type[BaseModel], str]] = {
        (ValidationErrorOut, "serialization"),
        (ErrorOut, "serialization"),
    }
    for op in REGISTRY:
        keys.update((m, "validation") for m in (op.body, op.query) if m is not None)
        keys.update((m, "serialization") for m in op.responses.values() if m is not None)
    ordered = sorted(keys, key=lambda key: (key[0].__name__, key[1]))
    key_map, schema = models_json_schema(ordered, ref_template=REF_TEMPLATE)

    def ref(model: type[BaseModel], mode: str) -> dict[str, Any]:
        return {"application/json": {"schema": key_map[(model, mode)]}}

    paths: dict[str, dict[str, Any]] = {}
    for op in REGISTRY:
        path, params = _openapi_path(op.path)
        operation: dict[str, Any] = {
            "operationId": op.view_name,
            "summary": op.summary,
            "tags": op.tags,
            "parameters": params,
            "responses": {},
        }
        if op.query is not None:
            query_schema = op.query.model_json_schema()
            for name, info in query_schema["properties"].items():
                operation["parameters"].append(
                    {
                        "name": name,
                        "in": "query",
                        "required": name in query_schema.get("required", []),
                        "schema": info,
                    }
                )
        if op.body is not None:
            operation["requestBody"] = {"required": True, "content": ref(op.body, "validation")}
        for status, model in op.responses.items():
            entry: dict[str, Any] = {"description": _describe(status)}
            if model is not None:
                entry["content"] = ref(model, "serialization")
            operation["responses"][str(status)] = entry
        if op.body is not None or op.query is not None:
            operation["responses"]["422"] = {
                "description": _describe(422),
                "content": ref(ValidationErrorOut, "serialization"),
            }
        if op.method not in ("get", "head", "options"):
            operation["parameters"].append(
                {
                    "name": "X-CSRFToken",
                    "in": "header",
                    "required": False,
                    "description": "The token from GET /api/v1/csrf (required when CSRF is on).",
                    "schema": {"type": "string"},
                }
            )
            operation["responses"]["400"] = {
                "description": _describe(400),
                "content": ref(ErrorOut, "serialization"),
            }
        if op.auth:
            operation["security"] = [{"session": []}]
            for status in (401, 403):
                operation["responses"][str(status)] = {
                    "description": _describe(status),
                    "content": ref(ErrorOut, "serialization"),
                }
        paths.setdefault(path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        },
    }


def _describe(status: int) -> str:
    return {
        200: "OK",
        201: "Created",
        400: "Missing or expired CSRF token",
        204: "No content",
        401: "Not signed in",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        422: "Invalid input",
    }.get(status, "Response")
