"""Models and migrations agree: a model change without its migration fails CI."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from app.core.config import get_settings
from app.core.db import tortoise_config


async def test_no_model_change_lacks_a_migration() -> None:
    config = tortoise_config(get_settings())
    apps = Tortoise.apps
    assert apps is not None
    detector = MigrationAutodetector(apps, config["apps"])
    pending = await detector.changes()
    described = [f"{w.app_label}: {[op.describe() for op in w.operations]}" for w in pending]
    assert described == [], "run `make makemigrations` and commit the result"
