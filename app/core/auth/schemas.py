"""Request and response bodies shared by the three audiences' auth routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.core.auth.sessions import TokenPair


class TokenOut(BaseModel):
    """Tokens: send `access_token` as a Bearer token and swap `refresh_token` before it expires."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "access_token": "eyJhbGciOiJIUzI1NiIs…",
                "refresh_token": "7d0c…-…",
                "token_type": "bearer",
                "expires_in": 900,
            }
        }
    )

    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int = Field(description="access token lifetime in seconds")

    @classmethod
    def of(cls, pair: TokenPair) -> TokenOut:
        """Build from a token pair."""
        return cls(
            access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
        )


class RefreshIn(BaseModel):
    """A refresh token to rotate."""

    model_config = ConfigDict(json_schema_extra={"example": {"refresh_token": "7d0c…-…"}})

    refresh_token: str = Field(min_length=10, max_length=200)


class PasswordLoginIn(BaseModel):
    """Username (operators) or phone (merchant staff) and password."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"username": "ops-admin", "password": "s3cret-pass"}}
    )

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)
