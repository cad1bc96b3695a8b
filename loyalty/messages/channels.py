"""Outside channels of a sent message: WeChat subscription messages (one-time subscriptions) and SMS."""

from __future__ import annotations

import logging
from typing import Protocol

from app.core.auth.identity import ACCESS_TOKEN_EXPIRED, wechat_messenger
from app.core.config import get_settings
from app.core.crypto import decrypt
from app.core.db import transaction
from app.core.errors import RateLimited
from app.core.jobs import PermanentFailure, enqueue, job
from app.core.ratelimit import hit
from app.core.timeutil import utcnow
from loyalty.models import Member, MessageDelivery, PushStatus, WechatSubscription

log = logging.getLogger("linli.messages")

# WeChat subscribeMessage.send errcodes (developers.weixin.qq.com, subscribeMessage.send).
WECHAT_REFUSED = frozenset({43101})  # the user refused, or has no one-time subscription left
WECHAT_BUSY = frozenset({-1, 45009, 45011})  # system busy, daily quota reached, called too often
# Anything else (40037 invalid template id, 47003 bad template data, 41030 bad page, 40003 bad openid …)
# is a configuration ops must fix: the job is recorded dead.


class WechatBusy(Exception):
    """WeChat asked us to come back later (the job retries with backoff)."""


class SmsProvider(Protocol):
    """An SMS gateway."""

    async def send(self, phone: str, text: str) -> None:
        """Send one text message."""
        ...


class LogSmsProvider:
    """Development SMS provider: one log line per text."""

    async def send(self, phone: str, text: str) -> None:
        """Log the text instead of sending it."""
        log.info("sms to %s: %s", phone[:3] + "****" + phone[-4:], text)


def sms_provider() -> SmsProvider:
    """The configured SMS provider (the logging development provider)."""
    return LogSmsProvider()


async def record_subscriptions(member_id: int, results: dict[str, str]) -> int:
    """Record the accepted templates of a `requestSubscribeMessage` answer: one use each."""
    known = set(get_settings().message_wechat_templates.values())
    accepted = [template for template, answer in results.items() if answer == "accept" and template in known]
    async with transaction():
        for template in accepted:
            await WechatSubscription.create(member_id=member_id, template_id=template)
    return len(accepted)


async def _claim_subscription(delivery: MessageDelivery, template_id: str) -> int | None:
    """The subscription this delivery uses: claimed once (a retry reuses it), None when none is left."""
    if delivery.subscription_id is not None:
        return int(delivery.subscription_id)
    async with transaction():
        for candidate in (
            await WechatSubscription.filter(
                member_id=delivery.member_id, template_id=template_id, used_at__isnull=True
            )
            .order_by("id")
            .limit(5)
        ):
            if await WechatSubscription.filter(id=candidate.id, used_at__isnull=True).update(
                used_at=utcnow()
            ):
                await MessageDelivery.filter(id=delivery.id).update(subscription_id=candidate.id)
                return int(candidate.id)
    return None


async def _finish(delivery: MessageDelivery, status: PushStatus, reason: str | None, channel: str) -> None:
    await MessageDelivery.filter(id=delivery.id, push_status=PushStatus.QUEUED).update(
        push_status=status, push_reason=reason, channel=channel
    )


async def _sms(delivery: MessageDelivery, member: Member) -> None:
    if not member.phone_enc:
        await _finish(delivery, PushStatus.SUPPRESSED, "no_phone", "sms")
        return
    await sms_provider().send(decrypt(member.phone_enc), f"{delivery.title}: {delivery.body}")
    await _finish(delivery, PushStatus.SENT, None, "sms")


async def _wechat(delivery: MessageDelivery, member: Member) -> None:
    template = get_settings().message_wechat_templates.get(delivery.kind.value)
    subscription = await _claim_subscription(delivery, template) if template else None
    if template is None or subscription is None:  # no subscription left: fall back on SMS
        await _sms(delivery, member)
        return
    messenger = wechat_messenger()
    try:
        data = {name: str(value)[:20] for name, value in (delivery.variables or {}).items()}
        errcode = await messenger.send(member.openid, template, data)
    finally:
        await messenger.aclose()
    if errcode == 0:
        await _finish(delivery, PushStatus.SENT, None, "wechat")
    elif errcode in WECHAT_REFUSED:
        await _finish(delivery, PushStatus.SUPPRESSED, f"wechat_{errcode}", "wechat")
    elif errcode in WECHAT_BUSY or errcode in ACCESS_TOKEN_EXPIRED:
        raise WechatBusy(f"WeChat errcode {errcode}")
    else:
        await _finish(delivery, PushStatus.FAILED, f"wechat_{errcode}", "wechat")
        raise PermanentFailure(f"WeChat refused template {template} for {delivery.kind}: errcode {errcode}")


@job("loyalty.push_message")
async def push(delivery_id: int) -> str | None:
    """Deliver a sent message through its outside channel, once (a retry after success does nothing)."""
    delivery = await MessageDelivery.get_or_none(id=delivery_id)
    if delivery is None or delivery.push_status != PushStatus.QUEUED:
        return None
    rate = get_settings().message_channel_rates.get(str(delivery.channel), 0)
    if rate > 0:
        try:
            await hit("message-channel", str(delivery.channel), limit=rate, period=1)
        except RateLimited as limited:
            # A new job for later rather than a retry: throttling must not use up the job's tries.
            await enqueue(push, delivery_id, defer_seconds=int(limited.headers.get("Retry-After", "1")))
            return "throttled"
    member = await Member.get(id=delivery.member_id)
    if delivery.channel == "wechat":
        await _wechat(delivery, member)
    else:
        await _sms(delivery, member)
    return str((await MessageDelivery.get(id=delivery_id)).push_status)
