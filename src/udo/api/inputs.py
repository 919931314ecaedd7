"""Reading a request: JSON bodies and query strings into models, names checked.

A name from a path or a query string that is not a valid udo name is refused with 400
before it reaches a service, so no request can name a path (``..``, ``/``, ``%2e%2e``
decoded to ``..``, an absolute path) or anything but a plain identifier.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import BadRequest

from udo.api.errors import ApiError, detail
from udo.domain.manifest import NAME_RE

M = TypeVar("M", bound=BaseModel)


def check_name(kind: str, value: str) -> str:
    """`value` if it is a valid dataset / batch / table / run name, else a 400."""
    # fullmatch: NAME_RE ends with '$', which `match` lets through before a final newline
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise ApiError(
            400,
            "invalid_name",
            f"invalid {kind} name: use 1-63 letters, digits, '_' or '-', starting with a letter",
            [detail(kind, "not a valid name")],
        )
    return value


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as details with dotted field paths."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"])
        out.append(detail(loc, str(err["msg"]).removeprefix("Value error, ")))
    return out


def json_body(model: type[M]) -> M:
    """The request's JSON body as `model` (400 if not JSON, 422 with field paths if invalid)."""
    try:
        data = request.get_json(force=True)
    except BadRequest:
        raise ApiError(400, "bad_request", "the request body must be a JSON object") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(
            422, "validation_error", "invalid request body", validation_details(exc)
        ) from None


def query(model: type[M]) -> M:
    """The query string as `model` (422 with the parameter names if invalid)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise ApiError(
            422, "validation_error", "invalid query parameters", validation_details(exc)
        ) from None
