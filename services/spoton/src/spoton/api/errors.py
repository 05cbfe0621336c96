"""One table maps every error of the package to an HTTP status and a stable code."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from spoton import errors as e
from spoton.adapters.object_store import ObjectStoreError

__all__ = ["ERROR_TABLE", "install_error_handlers", "status_for"]

ERROR_TABLE: dict[type[Exception], tuple[int, str]] = {
    e.AuthenticationError: (401, "not_authenticated"),
    e.PermissionDeniedError: (403, "forbidden"),
    e.NotFoundError: (404, "not_found"),
    e.ConflictError: (409, "conflict"),
    e.ExpiredError: (410, "expired"),
    e.InvalidVideoError: (422, "invalid_video"),
    e.HomographyError: (422, "invalid_homography"),
    e.MOTFormatError: (422, "invalid_mot"),
    e.InvalidInputError: (422, "invalid_input"),
    e.InvalidDetectionsError: (422, "invalid_input"),
    e.InvalidFrameError: (422, "invalid_input"),
    e.SceneConfigError: (422, "invalid_input"),
    e.UnknownModelError: (422, "unknown_model"),
    e.WeightsNotFoundError: (503, "model_unavailable"),
    e.DetectorUnavailableError: (503, "model_unavailable"),
    e.FeatureDisabledError: (501, "not_configured"),
    e.LiveStateUnavailableError: (503, "live_state_unavailable"),
    e.JobQueueUnavailableError: (503, "job_queue_unavailable"),
    ObjectStoreError: (502, "object_store_error"),
    e.ServiceConfigError: (500, "misconfigured"),
    e.SpotOnError: (400, "bad_request"),
}


def status_for(error: Exception) -> tuple[int, str]:
    for cls in type(error).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return 500, "internal_error"


def _body(code: str, detail: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail}


async def _spoton_error(request: Request, error: Exception) -> JSONResponse:
    status, code = status_for(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(_body(code, str(error)), status_code=status, headers=headers)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
        for item in error.errors()
    ]
    return JSONResponse(_body("validation_error", details), status_code=422)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated", 403: "forbidden"}.get(
        error.status_code, "http_error"
    )
    return JSONResponse(_body(code, error.detail), status_code=error.status_code, headers=error.headers)


def install_error_handlers(api: FastAPI) -> None:
    api.add_exception_handler(e.SpotOnError, _spoton_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(StarletteHTTPException, _http_error)
