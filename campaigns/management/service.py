"""Campaign management: configuration, four-eyes approval, lifecycle, audience lists and the blocklist."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from app.core import audit
from app.core.auth.tokens import Principal
from app.core.db import on_commit, transaction
from app.core.errors import InvalidField, NotFound
from app.core.sql import column
from app.core.timeutil import utcnow
from campaigns import repository
from campaigns.audience import eligibility
from campaigns.errors import FourEyesViolation, InvalidTransition, NotEditable, NotFlash, VersionConflict
from campaigns.flash import install as flash_install
from campaigns.flash.rewards import VOUCHER_KINDS
from campaigns.lifecycle import transitions
from campaigns.lifecycle.table import RUNNING, Action, next_status
from campaigns.models import (
    AudienceMember,
    BlockedMember,
    Campaign,
    CampaignMerchant,
    CampaignStatus,
    CampaignType,
    Funder,
)
from campaigns.schemas import CampaignIn, CampaignPatch, validate_window
from loyalty import vouchers as loyalty_vouchers
from loyalty.models import Member
from merchants.models import Branch, Merchant

# An approved campaign is frozen shortly before its start: the engine may already be answering grabs.
EDIT_FREEZE = timedelta(seconds=60)

# Configuration fields an edit may change (and the audit log compares).
_SNAPSHOT_FIELDS = (
    "name",
    "description",
    "banner_url",
    "starts_at",
    "ends_at",
    "grid_ids",
    "categories",
    "audience",
    "config",
    "stock",
    "member_limit",
    "member_day_limit",
    "budget_count",
    "budget_fen",
    "funder",
    "funder_merchant_id",
)


def snapshot(campaign: Campaign, merchants: list[int] | None = None) -> dict[str, Any]:
    """The configuration of a campaign as JSON-friendly values (for the audit log)."""
    out: dict[str, Any] = {}
    for name in _SNAPSHOT_FIELDS:
        value = getattr(campaign, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    if merchants is not None:
        out["merchant_ids"] = merchants
    return out


async def _check_merchants(field: str, ids: list[int]) -> None:
    if not ids:
        return
    found = set(await column(Merchant.filter(id__in=ids).values_list("id", flat=True)))
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidField(field, f"unknown merchants: {missing[:20]}")


async def _check_grids(ids: list[int]) -> None:
    if not ids:
        return
    found = set(await column(Branch.filter(id__in=ids).values_list("id", flat=True)))
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidField("grid_ids", f"unknown grids: {missing[:20]}")


async def _validate(campaign: Campaign, merchants: list[int]) -> None:
    bad = validate_window(campaign.starts_at, campaign.ends_at)
    if bad:
        raise InvalidField(bad, "must be after starts_at and at most 366 days later")
    if campaign.member_day_limit and campaign.member_day_limit > campaign.member_limit:
        raise InvalidField("per_member_daily_limit", "cannot exceed per_member_limit")
    if campaign.funder == Funder.MERCHANT and campaign.funder_merchant_id is None:
        raise InvalidField("funder_merchant_id", "required when a merchant funds the campaign")
    if campaign.funder == Funder.BANK and campaign.funder_merchant_id is not None:
        raise InvalidField("funder_merchant_id", "only for merchant-funded campaigns")
    await _check_grids(campaign.grid_ids)
    await _check_merchants("merchant_ids", merchants)
    if campaign.funder_merchant_id is not None:
        await _check_merchants("funder_merchant_id", [campaign.funder_merchant_id])


def _apply_config(campaign: Campaign, config: Any) -> None:
    campaign.config = config.model_dump(mode="json")
    campaign.stock = config.stock if config.type == CampaignType.FLASH else 0


async def create(actor: Principal, body: CampaignIn) -> Campaign:
    """Create a draft campaign."""
    campaign = Campaign(
        type=CampaignType(body.config.type),
        name=body.name,
        description=body.description,
        banner_url=str(body.banner_url or ""),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        grid_ids=sorted(set(body.grid_ids)),
        categories=list(dict.fromkeys(body.categories)),
        audience=body.audience.model_dump(mode="json"),
        member_limit=body.per_member_limit,
        member_day_limit=body.per_member_daily_limit or 0,
        budget_count=body.budget_count,
        budget_fen=body.budget_fen,
        funder=body.funder,
        funder_merchant_id=body.funder_merchant_id,
        created_by=actor.id,
        updated_by=actor.id,
    )
    _apply_config(campaign, body.config)
    if campaign.type == CampaignType.LUCKY_DRAW:
        # Committed now, revealed after the end: members can check no draw was steered.
        campaign.draw_seed = secrets.token_hex(32)
        campaign.draw_commitment = hashlib.sha256(campaign.draw_seed.encode()).hexdigest()
    merchants = sorted(set(body.merchant_ids))
    await _validate(campaign, merchants)
    async with transaction():
        await campaign.save()
        await CampaignMerchant.bulk_create(
            [CampaignMerchant(campaign_id=campaign.id, merchant_id=m) for m in merchants]
        )
        await audit.record(
            actor,
            "campaign.create",
            "campaign",
            campaign.id,
            after=snapshot(campaign, merchants) | {"draw_commitment": campaign.draw_commitment},
        )
    return campaign


async def update(
    actor: Principal, campaign_id: int, patch: CampaignPatch, now: datetime | None = None
) -> Campaign:
    """Edit a campaign; an approved one goes back to pending approval."""
    now = now or utcnow()
    async with transaction():
        campaign = await repository.get_campaign(campaign_id)
        if patch.version is not None and patch.version != campaign.version:
            raise VersionConflict(f"campaign is at version {campaign.version}")
        if next_status(campaign.status, Action.EDIT) is None:
            raise NotEditable(f"a {campaign.status.value} campaign cannot be edited")
        if campaign.status == CampaignStatus.APPROVED and campaign.starts_at - EDIT_FREEZE <= now:
            raise NotEditable("an approved campaign is frozen from a minute before its start")
        old_merchants = (await repository.merchant_ids([campaign.id])).get(campaign.id, [])
        before = snapshot(campaign, old_merchants)
        data = patch.model_dump(exclude_unset=True)
        merchants = sorted(set(data["merchant_ids"])) if "merchant_ids" in data else old_merchants
        _patch_fields(campaign, patch, data)
        await _validate(campaign, merchants)
        changes = {name: getattr(campaign, name) for name in _SNAPSHOT_FIELDS if name != "funder_merchant_id"}
        changes |= {
            "funder_merchant_id": campaign.funder_merchant_id,
            "updated_by": actor.id,
            "version": campaign.version + 1,
            "approved_by": None,
            "approved_at": None,
        }
        if campaign.status == CampaignStatus.APPROVED:
            campaign = await transitions.apply(actor, campaign, Action.EDIT, changes=changes)
        else:
            updated = await Campaign.filter(id=campaign.id, version=campaign.version).update(**changes)
            if not updated:
                raise VersionConflict("the campaign changed meanwhile; reload it")
            campaign = await Campaign.get(id=campaign.id)
        if merchants != old_merchants:
            await CampaignMerchant.filter(campaign_id=campaign.id).delete()
            await CampaignMerchant.bulk_create(
                [CampaignMerchant(campaign_id=campaign.id, merchant_id=m) for m in merchants]
            )
        await audit.record(
            actor,
            "campaign.update",
            "campaign",
            campaign.id,
            before=before,
            after=snapshot(campaign, merchants),
        )
    return campaign


def _patch_fields(campaign: Campaign, patch: CampaignPatch, data: dict[str, Any]) -> None:
    simple = {"name", "description", "starts_at", "ends_at", "funder", "funder_merchant_id"}
    for name in simple & data.keys():
        setattr(campaign, name, getattr(patch, name))
    if "banner_url" in data:
        campaign.banner_url = str(patch.banner_url or "")
    if "grid_ids" in data:
        campaign.grid_ids = sorted(set(patch.grid_ids or []))
    if "categories" in data:
        campaign.categories = list(dict.fromkeys(patch.categories or []))
    if "audience" in data and patch.audience is not None:
        campaign.audience = patch.audience.model_dump(mode="json")
    if "per_member_limit" in data and patch.per_member_limit is not None:
        campaign.member_limit = patch.per_member_limit
    if "per_member_daily_limit" in data:
        campaign.member_day_limit = patch.per_member_daily_limit or 0
    if "budget_count" in data:
        campaign.budget_count = patch.budget_count or None
    if "budget_fen" in data:
        campaign.budget_fen = patch.budget_fen or None
    if "config" in data and patch.config is not None:
        if patch.config.type != campaign.type:
            raise InvalidField(
                "config.type", f"a campaign's type cannot change (it is {campaign.type.value})"
            )
        _apply_config(campaign, patch.config)


async def _check_reward(campaign: Campaign) -> None:
    """A flash campaign handing out vouchers names an active benefit that can cover the whole stock."""
    if campaign.type != CampaignType.FLASH:
        return
    reward = campaign.config.get("reward") or {}
    if reward.get("kind") not in VOUCHER_KINDS:
        return
    field = "config.reward.benefit_id"
    benefit_id = reward.get("benefit_id")
    if not benefit_id:
        raise InvalidField(
            field, "name the loyalty benefit the winners receive", code="campaign.reward_invalid"
        )
    terms = await loyalty_vouchers.benefit_terms(int(benefit_id))
    problem = None
    if terms is None or not terms.active:
        problem = "the benefit does not exist or is not active"
    elif terms.stock_left is not None and terms.stock_left < campaign.stock:
        problem = f"the benefit has {terms.stock_left} left, fewer than the campaign's stock"
    elif terms.per_member_limit < campaign.member_limit:
        problem = f"the benefit allows {terms.per_member_limit} per member, fewer than the campaign's limit"
    elif terms.valid_until is not None and terms.valid_until <= campaign.ends_at:
        problem = "the benefit's vouchers expire before the campaign ends"
    if problem:
        raise InvalidField(field, problem, code="campaign.reward_invalid")


async def submit(actor: Principal, campaign_id: int, now: datetime | None = None) -> Campaign:
    """Send a draft for approval."""
    now = now or utcnow()
    async with transaction():
        campaign = await repository.get_campaign(campaign_id)
        if next_status(campaign.status, Action.SUBMIT) is None:
            raise InvalidTransition(f"cannot submit a campaign that is {campaign.status.value}")
        for field, why in eligibility.unsupported(campaign.audience):
            raise InvalidField(field, why, code="campaign.audience_unsupported")
        await _check_reward(campaign)
        if campaign.ends_at <= now:
            raise InvalidField("ends_at", "the campaign window is already over")
        return await transitions.apply(actor, campaign, Action.SUBMIT, changes={"submitted_by": actor.id})


async def approve(
    actor: Principal, campaign_id: int, version: int | None = None, now: datetime | None = None
) -> Campaign:
    """Approve a pending campaign: only an operator who neither created nor last edited it may."""
    now = now or utcnow()
    async with transaction():
        campaign = await repository.get_campaign(campaign_id)
        if actor.id in (campaign.created_by, campaign.updated_by):
            raise FourEyesViolation(
                "the approver must be another operator than the author and the last editor"
            )
        if version is not None and version != campaign.version:
            raise VersionConflict(f"campaign is at version {campaign.version}; review it again")
        if campaign.status == CampaignStatus.PENDING_APPROVAL:
            if campaign.ends_at <= now:
                raise InvalidField("ends_at", "the campaign window is already over")
            await _check_reward(campaign)
            if campaign.type == CampaignType.LUCKY_DRAW and campaign.starts_at <= now:
                raise InvalidField(
                    "starts_at", "a lucky draw's seed must be committed before its window opens"
                )
        campaign = await transitions.apply(
            actor, campaign, Action.APPROVE, changes={"approved_by": actor.id, "approved_at": now}
        )
        return await transitions.advance(campaign, now)


async def reject(actor: Principal, campaign_id: int, reason: str) -> Campaign:
    """Send a pending campaign back to draft with a reason."""
    if not reason.strip():
        raise InvalidField("reason", "say why the campaign is rejected")
    async with transaction():
        campaign = await repository.get_campaign(campaign_id)
        if actor.id in (campaign.created_by, campaign.updated_by):
            raise FourEyesViolation("the author cannot review their own campaign")
        return await transitions.apply(
            actor, campaign, Action.REJECT, reason=reason, changes={"rejection_reason": reason}
        )


async def act(
    actor: Principal, campaign_id: int, action: Action, reason: str = "", now: datetime | None = None
) -> Campaign:
    """Pause, resume, end or cancel a campaign."""
    now = now or utcnow()
    async with transaction():
        campaign = await repository.get_campaign(campaign_id)
        campaign = await transitions.apply(actor, campaign, action, reason=reason)
        if action == Action.RESUME:
            campaign = await transitions.advance(campaign, now)
        return campaign


async def tick(now: datetime | None = None) -> list[int]:
    """Start and end campaigns whose window the clock passed; returns the ids it moved."""
    now = now or utcnow()
    moved = []
    due = await column(
        Campaign.filter(status__in=list(RUNNING), starts_at__lte=now).values_list("id", flat=True)
    )
    for campaign_id in due:
        try:
            async with transaction():
                campaign = await Campaign.get(id=campaign_id)
                if (
                    campaign.status in RUNNING
                    and (await transitions.advance(campaign, now)).status != campaign.status
                ):
                    moved.append(campaign_id)
        except InvalidTransition:
            continue  # an operator moved it meanwhile
    return moved


# -- audience list -----------------------------------------------------------------------------------


async def _editable_for_audience(actor: Principal, campaign_id: int, now: datetime) -> Campaign:
    campaign = await repository.get_campaign(campaign_id)
    if next_status(campaign.status, Action.EDIT) is None:
        raise NotEditable(f"a {campaign.status.value} campaign's audience cannot change")
    if campaign.status == CampaignStatus.APPROVED and campaign.starts_at - EDIT_FREEZE <= now:
        raise NotEditable("an approved campaign is frozen from a minute before its start")
    return campaign


async def _audience_changed(actor: Principal, campaign: Campaign) -> None:
    changes = {
        "updated_by": actor.id,
        "version": campaign.version + 1,
        "approved_by": None,
        "approved_at": None,
    }
    if campaign.status == CampaignStatus.APPROVED:
        await transitions.apply(actor, campaign, Action.EDIT, changes=changes)
    else:
        await Campaign.filter(id=campaign.id).update(**changes)


async def add_audience(actor: Principal, campaign_id: int, member_ids: list[int]) -> tuple[int, int]:
    """Put members on a campaign's audience list; returns (added, total)."""
    ids = sorted(set(member_ids))
    found = set(await column(Member.filter(id__in=ids).values_list("id", flat=True)))
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidField("member_ids", f"unknown members: {missing[:20]}")
    async with transaction():
        campaign = await _editable_for_audience(actor, campaign_id, utcnow())
        query = AudienceMember.filter(campaign_id=campaign_id, member_id__in=ids)
        present = set(await column(query.values_list("member_id", flat=True)))
        new = [i for i in ids if i not in present]
        if new:
            await AudienceMember.bulk_create(
                [AudienceMember(campaign_id=campaign_id, member_id=i) for i in new]
            )
            await _audience_changed(actor, campaign)
            await audit.record(
                actor, "campaign.audience_add", "campaign", campaign_id, after={"member_ids": new}
            )
        total = await AudienceMember.filter(campaign_id=campaign_id).count()
    return len(new), total


async def remove_audience(actor: Principal, campaign_id: int, member_ids: list[int]) -> tuple[int, int]:
    """Take members off a campaign's audience list; returns (removed, total)."""
    ids = sorted(set(member_ids))
    async with transaction():
        campaign = await _editable_for_audience(actor, campaign_id, utcnow())
        removed = await AudienceMember.filter(campaign_id=campaign_id, member_id__in=ids).delete()
        if removed:
            await _audience_changed(actor, campaign)
            await audit.record(
                actor, "campaign.audience_remove", "campaign", campaign_id, before={"member_ids": ids}
            )
        total = await AudienceMember.filter(campaign_id=campaign_id).count()
    return int(removed), total


# -- blocklist ---------------------------------------------------------------------------------------


async def block(actor: Principal, member_id: int, reason: str) -> BlockedMember:
    """Bar a member from flash grabs, effective at once in every loaded campaign."""
    if not await Member.exists(id=member_id):
        raise InvalidField("member_id", "unknown member")
    async with transaction():
        row, created = await BlockedMember.get_or_create(
            member_id=member_id, defaults={"reason": reason, "created_by": actor.id}
        )
        if created:
            await audit.record(actor, "campaign.block", "member", member_id, after={"reason": reason})

            async def push() -> None:
                await flash_install.block(member_id, True)

            on_commit(push)
    return row


async def unblock(actor: Principal, member_id: int) -> None:
    """Lift a block."""
    async with transaction():
        row = await BlockedMember.get_or_none(member_id=member_id)
        if row is None:
            raise NotFound("member is not blocked", code="campaign.not_blocked")
        await row.delete()
        await audit.record(actor, "campaign.unblock", "member", member_id, before={"reason": row.reason})

        async def push() -> None:
            await flash_install.block(member_id, False)

        on_commit(push)


async def preheat(actor: Principal, campaign_id: int) -> str:
    """Load (or refresh) a flash campaign in Redis now, instead of waiting for the scheduled preheat."""
    campaign = await repository.get_campaign(campaign_id)
    if campaign.type != CampaignType.FLASH:
        raise NotFlash("only flash campaigns are preheated")
    if campaign.status not in RUNNING:
        raise InvalidTransition(f"a {campaign.status.value} campaign cannot be preheated")
    outcome = await flash_install.ensure_loaded(campaign_id)
    async with transaction():
        await audit.record(actor, "campaign.preheat", "campaign", campaign_id, after={"result": outcome})
    return outcome
