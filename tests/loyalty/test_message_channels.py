"""Outside channels: WeChat subscription messages against a simulated WeChat server on loopback (one-time
subscriptions used once, errcodes mapped), the SMS fallback, and the inbox holding every message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from arq import Retry

from app.core.config import get_settings
from app.core.models import DeadJob, OutboxMessage
from loyalty import messages
from loyalty.messages import channels
from loyalty.models import MessageDelivery, MessageKind, PushStatus, WechatSubscription
from tests.helpers import run_jobs
from tests.loyalty.test_messages import member
from tests.loyalty.wechat_sim import SimulatedWeChat, simulated_wechat

TEMPLATE = "tmpl-flash-reminder"
REMIND = {"campaign": "Coffee", "opens_at": "10:00"}


@pytest.fixture
async def wechat(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SimulatedWeChat]:
    """A simulated WeChat server, configured as the platform's WeChat, flash reminders sent through it."""
    async with simulated_wechat() as server:
        settings = get_settings()
        monkeypatch.setattr(settings, "wechat_api_base", server.base_url)
        monkeypatch.setattr(settings, "wechat_app_id", "wx-test")
        monkeypatch.setattr(settings, "wechat_app_secret", "secret")
        monkeypatch.setattr(settings, "message_channels", {"flash_reminder": "wechat"})
        monkeypatch.setattr(settings, "message_wechat_templates", {"flash_reminder": TEMPLATE})
        yield server


async def subscribed(client: httpx.AsyncClient, times: int = 1) -> tuple[dict[str, str], int]:
    """A joined member who accepted the flash-reminder template `times` times in the mini-program."""
    headers, member_id = await member(client)
    for _ in range(times):
        answer = {"results": {TEMPLATE: "accept", "tmpl-unknown": "accept", "tmpl-other": "reject"}}
        recorded = await client.post("/mp/v1/messages/wechat-subscriptions", json=answer, headers=headers)
        assert recorded.status_code == 200 and recorded.json() == {"recorded": 1}, recorded.text
    return headers, member_id


async def remind(member_id: int, key: str) -> MessageDelivery:
    """A flash reminder (WeChat by the settings above)."""
    return await messages.send(member_id, MessageKind.FLASH_REMINDER, REMIND, key)


async def run_push(delivery_id: int, job_try: int = 1) -> Any:
    """Run the push job as the worker does (retries and dead jobs included)."""
    return await channels.push.run({"job_id": f"push-{delivery_id}", "job_try": job_try}, delivery_id)


async def test_a_subscription_carries_one_message_then_sms_takes_over(
    client: httpx.AsyncClient, wechat: SimulatedWeChat
) -> None:
    headers, member_id = await subscribed(client)
    await client.post("/mp/v1/me/phone", json={"code": "dev:13700002222"}, headers=headers)
    first = await remind(member_id, "first")
    second = await remind(member_id, "second")
    await run_jobs()
    await run_jobs()

    assert len(wechat.received) == 1
    sent = wechat.received[0]
    assert sent["template_id"] == TEMPLATE and sent["data"]["campaign"] == {"value": "Coffee"}
    done = {d.id: d for d in await MessageDelivery.filter(member_id=member_id)}
    # The two pushes run as concurrent jobs: whichever takes the one subscription goes by WeChat, the
    # other falls back to SMS.
    channels_used = {(done[d.id].channel, done[d.id].push_status) for d in (first, second)}
    assert channels_used == {("wechat", PushStatus.SENT), ("sms", PushStatus.SENT)}
    assert await WechatSubscription.filter(member_id=member_id, used_at__isnull=True).count() == 0
    inbox = (await client.get("/mp/v1/messages", headers=headers)).json()["items"]
    assert {m["id"] for m in inbox} == {first.id, second.id}  # the inbox holds every message


async def test_refused_or_no_quota_is_suppressed_not_retried(
    client: httpx.AsyncClient, wechat: SimulatedWeChat
) -> None:
    _, member_id = await subscribed(client)
    delivery = await remind(member_id, "refused")
    wechat.answers = [43101]
    assert await run_push(delivery.id) == PushStatus.SUPPRESSED
    assert await run_push(delivery.id) is None
    stored = await MessageDelivery.get(id=delivery.id)
    assert (stored.push_status, stored.push_reason) == (PushStatus.SUPPRESSED, "wechat_43101")
    assert len(wechat.received) == 1


@pytest.mark.parametrize("errcode", [-1, 45009, 45011])
async def test_busy_and_rate_limits_are_retried_with_backoff_on_the_same_subscription(
    client: httpx.AsyncClient, wechat: SimulatedWeChat, errcode: int
) -> None:
    _, member_id = await subscribed(client, times=2)
    delivery = await remind(member_id, f"busy{errcode}")
    wechat.answers = [errcode, errcode]
    for job_try in (1, 2):
        with pytest.raises(Retry) as retry:
            await run_push(delivery.id, job_try)
        assert retry.value.defer_score == 1000 * job_try
    assert await run_push(delivery.id, 3) == PushStatus.SENT
    assert len(wechat.received) == 3
    # One subscription used for the three tries: the second is still there for the next message.
    assert await WechatSubscription.filter(member_id=member_id, used_at__isnull=True).count() == 1


@pytest.mark.parametrize("errcode", [40037, 47003])
async def test_an_invalid_template_is_recorded_dead_for_ops(
    client: httpx.AsyncClient, wechat: SimulatedWeChat, errcode: int
) -> None:
    _, member_id = await subscribed(client)
    delivery = await remind(member_id, f"bad{errcode}")
    wechat.answers = [errcode]
    assert await run_push(delivery.id) is None
    dead = await DeadJob.get(job_id=f"push-{delivery.id}")
    assert dead.job_name == "loyalty.push_message" and str(errcode) in dead.error
    stored = await MessageDelivery.get(id=delivery.id)
    assert (stored.push_status, stored.push_reason) == (PushStatus.FAILED, f"wechat_{errcode}")


async def test_an_expired_access_token_is_renewed(client: httpx.AsyncClient, wechat: SimulatedWeChat) -> None:
    _, member_id = await subscribed(client)
    delivery = await remind(member_id, "token")
    wechat.answers = [42001]
    with pytest.raises(Retry):
        await run_push(delivery.id)
    assert await run_push(delivery.id, 2) == PushStatus.SENT
    assert wechat.tokens_issued == 2


async def test_the_channel_rate_queues_the_rest_for_later(
    client: httpx.AsyncClient, wechat: SimulatedWeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "message_channel_rates", {"wechat": 1})
    _, member_id = await subscribed(client, times=3)
    first, second = await remind(member_id, "r1"), await remind(member_id, "r2")
    assert await run_push(first.id) == PushStatus.SENT
    assert await run_push(second.id) == "throttled"  # over one a second: a new job, deferred
    later = (
        await OutboxMessage.filter(job_name="loyalty.push_message", args=[second.id]).order_by("-id").first()
    )
    assert later is not None and later.defer_seconds >= 1
    assert (await MessageDelivery.get(id=second.id)).push_status == PushStatus.QUEUED
    assert len(wechat.received) == 1
