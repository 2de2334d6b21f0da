"""What every API body model starts from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown fields are an error, not silently dropped; text is trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
