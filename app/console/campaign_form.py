"""The campaign form of every type: form fields to a CampaignIn/CampaignPatch body and back, and each
validation error placed under the field it names."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.console import forms
from app.console.rendering import yuan
from app.core.timeutil import BUSINESS_TZ
from campaigns.models import CampaignType

Translate = Callable[[str], str]
REWARD_PARTS = ("kind", "title", "value", "points", "benefit_id", "cost")
PRIZES = 3  # prize rows a lucky draw form offers
TIERS = ("regular", "silver", "gold")
COMMON = (
    "name",
    "description",
    "starts_at",
    "ends_at",
    "per_member_limit",
    "budget",
    "grid_ids",
    "merchant_ids",
    "categories",
    "tags",
)
# Model field → form field where the names differ (money is typed in yuan).
RENAME = {
    "value_fen": "value",
    "cost_fen": "cost",
    "price_fen": "price",
    "min_spend_fen": "min_spend",
    "qualifying_min_spend_fen": "qualifying_min_spend",
    "budget_fen": "budget",
    "probability_ppm": "ppm",
}
MONEY = {"value", "cost", "price", "min_spend", "qualifying_min_spend", "budget"}


def rewards_of(kind: CampaignType) -> list[str]:
    """The reward fieldsets (form prefixes) of a campaign type."""
    return {
        CampaignType.FLASH: ["reward"],
        CampaignType.SPEND_AND_GET: ["reward"],
        CampaignType.CHECKIN: ["reward"],
        CampaignType.REFERRAL: ["referrer_reward", "referee_reward"],
        CampaignType.LUCKY_DRAW: [f"prize{i}_reward" for i in range(PRIZES)],
        CampaignType.MULTIPLIER: [],
    }[kind]


def own_fields(kind: CampaignType) -> list[str]:
    """The fields of a type's configuration besides its rewards."""
    return {
        CampaignType.FLASH: ["stock", "price", "price_points"],
        CampaignType.SPEND_AND_GET: ["min_spend"],
        CampaignType.CHECKIN: ["streak_days"],
        CampaignType.REFERRAL: ["qualifying_min_spend"],
        CampaignType.LUCKY_DRAW: ["cost_points"]
        + [f"prize{i}_{part}" for i in range(PRIZES) for part in ("name", "ppm", "stock")],
        CampaignType.MULTIPLIER: ["multiplier_percent"],
    }[kind]


def field_names(kind: CampaignType) -> list[str]:
    """Every text field of the form of a type (checkboxes: `tiers`, `new_members_only`)."""
    rewards = [f"{prefix}_{part}" for prefix in rewards_of(kind) for part in REWARD_PARTS]
    return [*COMMON, *own_fields(kind), *rewards]


def _ids(raw: str, field: str, errors: forms.FieldErrors, _: Translate) -> list[int]:
    parts = raw.replace(",", " ").split()
    if not all(p.isdigit() for p in parts):
        errors[field] = _("error.id_list")
        return []
    return [int(p) for p in parts]


def _words(raw: str) -> list[str]:
    return [p for p in raw.replace(",", " ").split() if p]


def _reward(
    values: Mapping[str, str], prefix: str, errors: forms.FieldErrors, _: Translate
) -> dict[str, Any]:
    reward: dict[str, Any] = {
        "kind": values.get(f"{prefix}_kind") or "points",
        "title": values[f"{prefix}_title"],
    }
    for key, part in (("value_fen", "value"), ("cost_fen", "cost")):
        amount = forms.fen(values[f"{prefix}_{part}"], f"{prefix}_{part}", errors, _)
        if amount is not None:
            reward[key] = amount
    for key in ("points", "benefit_id"):
        number = forms.integer(values[f"{prefix}_{key}"], f"{prefix}_{key}", errors, _)
        if number is not None:
            reward[key] = number
    return reward


def _config(
    kind: CampaignType, values: Mapping[str, str], errors: forms.FieldErrors, _: Translate
) -> dict[str, Any]:
    config: dict[str, Any] = {"type": kind.value}
    for field in own_fields(kind):
        if field.startswith("prize"):
            continue
        if field in MONEY:
            amount = forms.fen(values[field], field, errors, _)
            key = next(k for k, v in RENAME.items() if v == field)
            if amount is not None:
                config[key] = amount
        else:
            number = forms.integer(values[field], field, errors, _)
            if number is not None:
                config[field] = number
    if kind == CampaignType.LUCKY_DRAW:
        prizes = []
        for i in range(PRIZES):
            if not values[f"prize{i}_name"].strip():
                continue
            prize: dict[str, Any] = {"name": values[f"prize{i}_name"]}
            for key, part in (("probability_ppm", "ppm"), ("stock", "stock")):
                number = forms.integer(values[f"prize{i}_{part}"], f"prize{i}_{part}", errors, _)
                if number is not None:
                    prize[key] = number
            prize["reward"] = _reward(values, f"prize{i}_reward", errors, _)
            prizes.append(prize)
        config["prizes"] = prizes
    elif kind == CampaignType.REFERRAL:
        config["referrer_reward"] = _reward(values, "referrer_reward", errors, _)
        config["referee_reward"] = _reward(values, "referee_reward", errors, _)
    elif rewards_of(kind):
        config["reward"] = _reward(values, "reward", errors, _)
    return config


def body(
    kind: CampaignType,
    values: Mapping[str, str],
    checked: Mapping[str, list[str]],
    errors: forms.FieldErrors,
    _: Translate,
) -> dict[str, Any]:
    """A CampaignIn body (a full CampaignPatch, for an edit) from the form's values."""
    out: dict[str, Any] = {
        "name": values["name"],
        "description": values["description"],
        "starts_at": forms.instant(values["starts_at"], "starts_at", errors, _),
        "ends_at": forms.instant(values["ends_at"], "ends_at", errors, _),
        "grid_ids": _ids(values["grid_ids"], "grid_ids", errors, _),
        "merchant_ids": _ids(values["merchant_ids"], "merchant_ids", errors, _),
        "categories": _words(values["categories"]),
        "audience": {
            "tiers": [t for t in checked.get("tiers", []) if t in TIERS],
            "tags": _words(values["tags"]),
            "new_members_only": bool(checked.get("new_members_only")),
        },
        "config": _config(kind, values, errors, _),
    }
    limit = forms.integer(values["per_member_limit"], "per_member_limit", errors, _)
    if limit is not None:
        out["per_member_limit"] = limit
    budget = forms.fen(values["budget"], "budget", errors, _)
    if budget is not None:
        out["budget_fen"] = budget
    return out


def field_of(location: Sequence[str | int], known: set[str]) -> str:
    """The form field a validation error's location names (`_form` when it names none)."""
    parts = list(location)
    if parts and parts[0] in ("body", "form"):
        parts = parts[1:]
    if parts and parts[0] == "config":
        parts = parts[1:]
        if parts and parts[0] in {t.value for t in CampaignType}:
            parts = parts[1:]
    if parts and parts[0] == "audience":
        parts = parts[1:]
    tokens: list[str] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        if part == "prizes" and index + 1 < len(parts) and isinstance(parts[index + 1], int):
            tokens.append(f"prize{parts[index + 1]}")
            index += 2
            continue
        if isinstance(part, int):
            break
        tokens.append(RENAME.get(str(part), str(part)))
        index += 1
    for end in range(len(tokens), 0, -1):
        name = "_".join(tokens[:end])
        if name in known:
            return name
    return "_form"


def values_of(campaign: Any) -> tuple[dict[str, str], dict[str, list[str]]]:
    """An existing campaign's fields as form values (for its edit form)."""
    values = {
        "name": campaign.name,
        "description": campaign.description,
        "starts_at": _local_input(campaign.starts_at),
        "ends_at": _local_input(campaign.ends_at),
        "per_member_limit": str(campaign.per_member_limit),
        "budget": _money(campaign.budget_fen),
        "grid_ids": ", ".join(str(i) for i in campaign.grid_ids),
        "merchant_ids": ", ".join(str(i) for i in campaign.merchant_ids),
        "categories": ", ".join(campaign.categories),
        "tags": ", ".join(campaign.audience.tags),
    }
    config = dict(campaign.config)
    for key, value in config.items():
        if key in ("type", "prizes") or key.endswith("reward"):
            continue
        name: str = RENAME.get(str(key), str(key))
        values[name] = _money(value) if name in MONEY else str(value)
    for prefix, reward in [(k, v) for k, v in config.items() if k.endswith("reward")] + [
        (f"prize{i}_reward", p["reward"]) for i, p in enumerate(config.get("prizes", []))
    ]:
        values |= _reward_values(prefix, reward)
    for i, prize in enumerate(config.get("prizes", [])):
        values |= {f"prize{i}_name": prize["name"], f"prize{i}_ppm": str(prize["probability_ppm"])}
        values[f"prize{i}_stock"] = str(prize["stock"])
    checked = {
        "tiers": list(campaign.audience.tiers),
        "new_members_only": ["on"] if campaign.audience.new_members_only else [],
    }
    return values, checked


def _reward_values(prefix: str, reward: Mapping[str, Any]) -> dict[str, str]:
    return {
        f"{prefix}_kind": str(reward.get("kind", "")),
        f"{prefix}_title": str(reward.get("title", "")),
        f"{prefix}_value": _money(reward.get("value_fen") or None),
        f"{prefix}_points": str(reward.get("points") or ""),
        f"{prefix}_benefit_id": str(reward.get("benefit_id") or ""),
        f"{prefix}_cost": _money(reward.get("cost_fen") or None),
    }


def _money(fen: int | None) -> str:
    return "" if fen is None else yuan(fen).lstrip("¥").replace(",", "")


def _local_input(at: Any) -> str:
    return str(at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%dT%H:%M"))
