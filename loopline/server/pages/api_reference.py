"""The API reference page (`/api`), built from the OpenAPI schema (no Swagger UI, nothing from a CDN)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from loopline.server.pages.render import render

router = APIRouter(include_in_schema=False)


@router.get("/api", response_class=HTMLResponse)
def api_page(request: Request) -> HTMLResponse:
    return render(request, "api.html", nav="api", **describe_api(request.app.openapi()))


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list[{_type(schema.get('items', {}))}]"
    if "enum" in schema:
        return " | ".join(map(str, schema["enum"]))
    return str(schema.get("format") or schema.get("type") or "any")


def describe_api(spec: dict[str, Any]) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            groups.setdefault((op.get("tags") or ["other"])[0], []).append(
                {
                    "id": re.sub(r"[^a-z0-9]+", "-", f"{method}-{path}".lower()).strip("-"),
                    "method": method,
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            **p,
                            "type": _type(p.get("schema", {})),
                            "description": p.get("description") or p.get("schema", {}).get("description"),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": _type(body) if body else None,
                    "responses": [
                        (code, r.get("description", "")) for code, r in op.get("responses", {}).items()
                    ],
                }
            )
    schemas = [
        (name, [(field, _type(prop)) for field, prop in s.get("properties", {}).items()])
        for name, s in sorted(spec.get("components", {}).get("schemas", {}).items())
    ]
    return {
        "spec": spec,
        "groups": [{"name": k, "operations": v} for k, v in groups.items()],
        "schemas": schemas,
    }
