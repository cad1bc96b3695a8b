"""File storage for uploads (business licences): an interface and its local-disk implementation."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any, Protocol

from app.core.config import get_settings
from app.core.errors import InvalidField

MAX_IMAGE_BYTES = 5 * 1024 * 1024
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": ("png", "image/png"), b"\xff\xd8\xff": ("jpg", "image/jpeg")}


class Storage(Protocol):
    """Where uploaded files live; keys are relative paths chosen by the storage."""

    async def put(self, prefix: str, suffix: str, data: bytes) -> str:
        """Store bytes under a new unique key and return it."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes stored under a key."""
        ...


class LocalDiskStorage:
    """Files under a directory (`<var_dir>/uploads` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError("key escapes the storage root")
        return path

    async def put(self, prefix: str, suffix: str, data: bytes) -> str:
        """Write the bytes to a new file (written aside, then renamed, so readers never see half)."""
        key = f"{prefix}/{secrets.token_hex(16)}.{suffix}"
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)

        await asyncio.to_thread(write)
        return key

    async def get(self, key: str) -> bytes:
        """Read a stored file."""
        return await asyncio.to_thread(self._path(key).read_bytes)


def storage() -> Storage:
    """The configured upload storage."""
    return LocalDiskStorage(get_settings().var_dir / "uploads")


def image_kind(field: str, data: bytes) -> tuple[str, str]:
    """(suffix, media type) of a PNG or JPEG judged by its magic bytes (422 naming the field otherwise)."""
    if not data:
        raise InvalidField(field, "empty file", code="upload.empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidField(
            field, f"larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB", code="upload.too_large"
        )
    for magic, kind in _SIGNATURES.items():
        if data.startswith(magic):
            return kind
    raise InvalidField(field, "must be a PNG or JPEG image", code="upload.unsupported_type")


def image_responses(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for an endpoint answering with an image."""
    return {200: {"description": "the image", "content": {t: {} for t in media_types}}}


def media_type_of(key: str) -> str:
    """The media type of a stored image key."""
    return "image/png" if key.endswith(".png") else "image/jpeg"
