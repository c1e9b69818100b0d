"""One error shape for the API: `{"code", "detail", "fields"?, "limit"?}`, right status codes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from complaints.exceptions import CONFLICT_ERRORS, IdempotencyMismatch
from config.health import UNAVAILABLE_ERRORS, unavailable


class UploadRejected(exceptions.APIException):
    """An attachment refused for its size (413), type (415) or content (422)."""

    def __init__(self, status_code: int, code: str, detail: str, limit: Any = None) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.limit = limit


def _translate(exc: Exception) -> Exception:
    """Domain and Django errors as the DRF exceptions that carry their status code."""
    if isinstance(exc, CONFLICT_ERRORS):
        conflict = exceptions.APIException(detail=str(exc), code="conflict")
        conflict.status_code = status.HTTP_409_CONFLICT
        return conflict
    if isinstance(exc, IdempotencyMismatch):
        mismatch = exceptions.APIException(detail=str(exc), code="idempotency_key_reused")
        mismatch.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
        return mismatch
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return exceptions.ValidationError(detail)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Http404):
        return exceptions.NotFound()  # never a hint of what exists
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return unavailable()
    exc = _translate(exc)
    handled = drf_exception_handler(exc, context)
    if handled is None or not isinstance(exc, exceptions.APIException):
        return handled
    response = handled
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": "Some fields are not valid.",
            "fields": response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data},
        }
        return response
    codes = exc.get_codes()
    response.data = {
        "code": codes if isinstance(codes, str) else "error",
        "detail": str(exc.detail),
    }
    if isinstance(exc, UploadRejected) and exc.limit is not None:
        response.data["limit"] = exc.limit
    return response
