"""The JSON API's documented shapes: what `/openapi.json` promises and schemathesis holds us to."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["CONVERT_REQUEST_BODY", "ERROR_RESPONSES", "ConvertResponse", "ErrorBody"]


class ErrorBody(BaseModel):
    """Every error of `/api/*`: a stable code and a message for people."""

    error: str = Field(description="stable error code, e.g. dot_syntax_error, graph_too_large, time_budget_exceeded")
    detail: str = Field(description="what went wrong (DOT errors carry line and column)")


class ConvertResponse(BaseModel):
    report: dict[str, Any] = Field(description="validation report: input, counts, issues, XSD result, layout")
    explain: list[dict[str, Any]] = Field(description="which rule mapped each node and edge, and why")
    files: dict[str, str] = Field(description="output file name -> content (several files for csv)")


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("malformed request (e.g. a broken multipart body)"),
    413: _error("body over MAX_REQUEST_SIZE_MB, file over MAX_UPLOAD_MB, or graph over MAX_NODES / MAX_EDGES"),
    415: _error("content type, file extension or content not accepted"),
    422: _error("invalid input (DOT syntax with line and column, unsafe XML, time budget exceeded, …)"),
    503: _error("every conversion slot busy for CONVERT_QUEUE_TIMEOUT"),
}

_TEXT = {"schema": {"type": "string", "description": "DOT, `terraform graph` output, or ArchiMate exchange XML"}}

CONVERT_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": ".dot, .gv, .txt or .xml"},
                        "text": {"type": "string", "description": "DOT text (instead of a file)"},
                    },
                }
            },
            "text/vnd.graphviz": _TEXT,
            "text/plain": _TEXT,
            "application/xml": _TEXT,
        },
    }
}
