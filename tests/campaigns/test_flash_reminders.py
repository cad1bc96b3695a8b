"""Flash "remind me": recorded once, sent once a few minutes before the sale opens (jobs run twice)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from app.core.timeutil import utcnow
from campaigns.flash import reminders
from campaigns.models import Campaign, FlashReminder
from loyalty.models import DeliveryStatus, MessageDelivery, MessageKind
from tests.campaigns import support as ch
from tests.helpers import run_jobs
from tests.loyalty.support import joined_member


async def test_remind_me_reaches_the_member_once_before_the_sale_opens(client: httpx.AsyncClient) -> None:
    team = await ch.ops(client)
    campaign = await ch.approved(client, team, ch.flash_body(starts_in=timedelta(days=7)))
    campaign_id = int(campaign["id"])
    member, member_id = await joined_member(client)
    other, other_id = await joined_member(client)

    asked = await asyncio.gather(
        *(client.post(f"/mp/v1/campaigns/{campaign_id}/remind-me", headers=member) for _ in range(5))
    )
    assert {r.status_code for r in asked} == {200} and asked[0].json()["sent_at"] is None
    assert (await client.post(f"/mp/v1/campaigns/{campaign_id}/remind-me", headers=other)).status_code == 200
    assert await FlashReminder.filter(campaign_id=campaign_id).count() == 2

    starts_at = (await Campaign.get(id=campaign_id)).starts_at
    assert await reminders.send_due(starts_at - timedelta(minutes=30)) == 0  # too early
    five_before = starts_at - timedelta(minutes=4)
    assert await reminders.send_due(five_before) == 2
    assert await reminders.send_due(five_before) == 0
    assert await reminders.send_reminders(campaign_id, (five_before + timedelta(seconds=30)).isoformat()) == 0
    await run_jobs()

    for headers, who in ((member, member_id), (other, other_id)):
        sent = await MessageDelivery.filter(member_id=who, kind=MessageKind.FLASH_REMINDER)
        assert [(d.status, d.sent_at) for d in sent] == [(DeliveryStatus.SENT, five_before)]
        assert campaign["name"] in sent[0].title
        inbox = (await client.get("/mp/v1/messages", headers=headers)).json()["items"]
        assert [m["kind"] for m in inbox] == ["flash_reminder"]


async def test_remind_me_refuses_open_hidden_and_other_campaigns(client: httpx.AsyncClient) -> None:
    team = await ch.ops(client)
    member, _ = await joined_member(client)
    running = await ch.approved(client, team, ch.flash_body())
    hidden = await ch.create(client, team.author, ch.flash_body(starts_in=timedelta(days=1)))
    opened = await client.post(f"/mp/v1/campaigns/{running['id']}/remind-me", headers=member)
    assert opened.status_code == 409 and opened.json()["code"] == "campaign.already_open"
    missing = await client.post(f"/mp/v1/campaigns/{hidden['id']}/remind-me", headers=member)
    assert missing.status_code == 404 and missing.json()["code"] == "campaign.not_found"


async def test_asking_within_the_lead_reminds_at_once(client: httpx.AsyncClient) -> None:
    team = await ch.ops(client)
    campaign = await ch.approved(client, team, ch.flash_body(starts_in=timedelta(minutes=3)))
    member, member_id = await joined_member(client)
    asked = await client.post(f"/mp/v1/campaigns/{campaign['id']}/remind-me", headers=member)
    assert asked.status_code == 200, asked.text
    await run_jobs()
    await run_jobs()
    assert await MessageDelivery.filter(member_id=member_id, kind=MessageKind.FLASH_REMINDER).count() == 1
    assert (await FlashReminder.get(campaign_id=campaign["id"])).sent_at is not None
    assert utcnow() < (await Campaign.get(id=campaign["id"])).starts_at
