"""Every failure as one JSON shape: ``{"error": {"code", "message", "details"}}``.

udo errors map to statuses by type (the message is already meant for the user); anything
unexpected is logged with its traceback and answered with a generic 500 that holds
neither the traceback nor the exception's text.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException

from udo.api.yaml_lines import line_of
from udo.errors import (
    BatchError,
    BatchExists,
    ConfigError,
    IngestError,
    InvalidKey,
    ObjectNotFound,
    RunNotFound,
    SpecError,
    TerminalError,
    TransientError,
    UdoError,
)

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
    503: "unavailable",
}
_LINE_LOC = re.compile(r"^line (\d+), column \d+$")


class ApiError(Exception):
    """An error the API answers on purpose, with its status and code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def detail(loc: str, message: str, line: int | None = None) -> dict[str, Any]:
    """One item of an error's ``details``."""
    return {"loc": loc, "message": message, "line": line}


def error_response(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> Response:
    """The JSON error body with its status."""
    response = jsonify({"error": {"code": code, "message": message, "details": details or []}})
    response.status_code = status
    return response


def spec_details(exc: SpecError, text: str | None) -> list[dict[str, Any]]:
    """A SpecError's problems, each with the YAML line of its location when it is found."""
    out = []
    for loc, message in exc.problems:
        found = _LINE_LOC.match(loc)
        if found:  # a YAML syntax error: the location is already a line
            out.append(detail("", message, int(found.group(1))))
            continue
        out.append(detail(loc, message, line_of(text, loc) if text else None))
    return out


def _udo_error(exc: UdoError) -> Response:
    if isinstance(exc, SpecError):
        n = len(exc.problems)
        text = g.get("spec_text")
        return error_response(
            422,
            "invalid_spec",
            f"invalid dataset spec ({n} problem{'s' if n != 1 else ''})",
            spec_details(exc, text if isinstance(text, str) else None),
        )
    if isinstance(exc, BatchExists):
        return error_response(409, "batch_exists", str(exc))
    if isinstance(exc, (BatchError, RunNotFound, ObjectNotFound)):
        return error_response(404, "not_found", str(exc))
    if isinstance(exc, ConfigError):
        return error_response(400, "config_error", str(exc))
    if isinstance(exc, IngestError):
        return error_response(422, "ingest_error", str(exc))
    if isinstance(exc, InvalidKey):
        return error_response(400, "invalid_name", "invalid name")
    if isinstance(exc, TransientError):
        log.warning("transient error answered with 503: %s", exc)
        return error_response(503, "unavailable", "a service udo needs is busy; try again")
    if isinstance(exc, TerminalError):
        return error_response(400, "bad_request", str(exc))
    return _internal(exc)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        return _internal(exc)
    message = exc.description or exc.name
    if status == 413:
        message = "the request body is larger than the server accepts (UDO_API__MAX_UPLOAD_BYTES)"
    response = error_response(status, HTTP_CODES.get(status, "http_error"), message)
    if status == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _internal(exc: BaseException) -> Response:
    log.error("unhandled error in the API", exc_info=exc)
    return error_response(
        500, "internal_error", "internal server error; the server log has the details"
    )


def install_error_handlers(app: Flask) -> None:
    """Answer every error of `app` with the JSON error shape."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(UdoError, _udo_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal)


def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.details)
