"""OpenAPI post-processing: the error shape and the error statuses every operation may return."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "required": ["code", "detail"],
    "properties": {
        "code": {"type": "string", "example": "invalid"},
        "detail": {"type": "string", "example": "Some fields are not valid."},
        "fields": {
            "type": "object",
            "additionalProperties": True,
            "description": "Per-field messages (400 only)",
            "example": {"subject": ["This field may not be blank."]},
        },
        "limit": {"type": "integer", "description": "The limit exceeded (413, 422 uploads)"},
    },
}
WHY = {
    "400": "Invalid input; `fields` says which and why",
    "401": "Missing or invalid bearer token",
    "403": "Your role may not do this",
    "404": "No such ticket (or consult request) among yours",
    "409": "Not allowed in the ticket's current state, or already done",
    "413": "Attachment too large",
    "415": "Attachment type not accepted (read from its content)",
    "422": "Attachment content refused, or Idempotency-Key reused for a different request",
    "429": "Too many requests or failed sign-ins; see Retry-After",
    "503": "Temporarily unavailable; see Retry-After",
}


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            codes = ["400", "429", "503"]
            if operation.get("security") and {} not in operation["security"]:
                codes += ["401", "403"]
            if "{number}" in path or "{id}" in path:
                codes.append("404")
            if "{conversation}" in path:  # web chat: the conversation's secrets authenticate
                codes += ["403", "404"]
            if method == "post":
                codes += ["409", "413", "415", "422"]
            for code in codes:
                operation["responses"].setdefault(code, {"description": WHY[code], "content": ref})
    return result
