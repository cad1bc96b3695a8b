"""The README stays true: every setting is in its configuration table, and it shows the two commands."""

from __future__ import annotations

from pathlib import Path

from app.core.config import Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [
        f"LINLI_{name.upper()}" for name in Settings.model_fields if f"`LINLI_{name.upper()}`" not in README
    ]
    assert missing == []


def test_readme_shows_the_two_commands() -> None:
    assert "make run" in README and "make test" in README


def test_model_docstrings_have_no_semicolons() -> None:
    # Tortoise's SQLite schema editor splits table comments on ';' and breaks the migration.
    from tortoise.models import Model

    import app.core.models
    import campaigns.models
    import loyalty.models
    import merchants.models
    import miniprogram_api.billpay.models

    offenders = []
    for module in (
        app.core.models,
        merchants.models,
        loyalty.models,
        campaigns.models,
        miniprogram_api.billpay.models,
    ):
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, Model)
                and obj is not Model
                and ";" in (obj.__doc__ or "")
            ):
                offenders.append(obj.__name__)
    assert offenders == []
