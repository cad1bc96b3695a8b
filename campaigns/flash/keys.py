"""Redis names of the flash engine: every key of one campaign shares the hash tag `{campaign:<id>}`."""

from __future__ import annotations

from app.core.redis_client import channel, key

# Order matters: it is the KEYS order of grab.lua.
GRAB_KEY_NAMES = (
    "meta",
    "wins",
    "eligible",
    "blocked",
    "idem",
    "rate",
    "stream",
    "free",
    "outcomes",
    "per_second",
    "participants",
)
# Keys that live and expire with the campaign (the rebuild lock expires on its own).
CAMPAIGN_KEY_NAMES = GRAB_KEY_NAMES

ACTIVE_SET = "linli:flash:active"
GROUP = "persist"
PLACEHOLDER = "_"


def events_channel() -> str:
    """The channel of campaign events (changes, sold out) of this deployment."""
    return channel("campaigns:events")


def k(campaign_id: int, name: str) -> str:
    """One key of a campaign, e.g. `{campaign:42}:meta`."""
    return key("campaign", campaign_id, name)


def grab_keys(campaign_id: int) -> list[str]:
    """The KEYS of grab.lua for a campaign."""
    return [k(campaign_id, name) for name in GRAB_KEY_NAMES]


def campaign_keys(campaign_id: int) -> list[str]:
    """Every key that holds a campaign's flash state."""
    return [k(campaign_id, name) for name in CAMPAIGN_KEY_NAMES]


def lock_key(campaign_id: int) -> str:
    """The key a preheat or rebuild holds while it (re)loads the campaign."""
    return k(campaign_id, "lock")
