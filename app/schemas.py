"""What every API body model starts from, and the answers every API body can get."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

# What a route that takes a JSON body answers before it runs (app.handlers, app.middleware),
# for its OpenAPI `responses=`.
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body could not be read: it is not valid UTF-8"},
    413: {"description": "The body is larger than REDFLAG_MAX_BODY_BYTES (64 KB)"},
    415: {"description": "The body is not JSON: send it with Content-Type: application/json"},
}


class Strict(BaseModel):
    """Unknown fields are an error, not silently dropped; text is trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
