"""Customer-facing bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LoginIn(BaseModel):
    """A one-time mini-program login code (`wx.login()`); never an openid."""

    model_config = ConfigDict(json_schema_extra={"example": {"code": "0a3Xk…"}})

    code: str = Field(
        min_length=1, max_length=128, description="login code from wx.login(); `dev:<name>` in development"
    )
