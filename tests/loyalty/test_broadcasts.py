"""Broadcasts from ops: a segment, a preview, four eyes, batches through the outbox, figures; a broadcast
whose worker is killed mid-send resumes without sending anybody twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest

from app.core.config import get_settings
from app.core.timeutil import utcnow
from loyalty.messages import broadcasts
from loyalty.models import (
    Broadcast,
    BroadcastStatus,
    Member,
    MemberTag,
    MessageDelivery,
    MessageKind,
    MessageOptOut,
)
from tests.helpers import login_operator, run_jobs
from tests.loyalty.test_messages import member


def no_quiet_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the hour of the test: a message held for the morning would keep a burst worker waiting."""
    monkeypatch.setattr(get_settings(), "message_quiet_start_hour", 0)
    monkeypatch.setattr(get_settings(), "message_quiet_end_hour", 0)


async def team(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str]]:
    """An author (who may also approve, but not their own) and an approver."""
    return await login_operator(client, "campaign_manager", "approver"), await login_operator(
        client, "approver"
    )


async def write(client: httpx.AsyncClient, author: dict[str, str], **body: object) -> dict[str, object]:
    """A draft broadcast."""
    created = await client.post(
        "/ops/v1/broadcasts",
        json={"title": "Coffee week", "body": "Half price lattes", **body},
        headers=author,
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def test_an_approved_broadcast_reaches_its_segment_once_with_figures(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "message_broadcast_batch", 2)
    no_quiet_hours(monkeypatch)
    author, approver = await team(client)
    payroll = [await member(client) for _ in range(5)]
    shy = await member(client, marketing=False)
    refusing = await member(client)
    outsider = await member(client)
    for _, member_id in [*payroll, shy, refusing]:
        await MemberTag.create(member_id=member_id, tag="payroll", source="import")
    await client.put("/mp/v1/me/message-preferences", json={"opted_out": ["broadcast"]}, headers=refusing[0])

    draft = await write(client, author, tags=["payroll"])
    assert draft["status"] == "draft" and draft["figures"] == {"targeted": 0}
    preview = await client.get(f"/ops/v1/broadcasts/{draft['id']}/preview", headers=approver)
    assert preview.json() == {"segment": 7, "no_consent": 1, "opted_out": 1, "reachable": 5}
    await run_jobs()
    assert not await MessageDelivery.exists(kind=MessageKind.BROADCAST)  # no approval: nothing sent
    assert await broadcasts.send_batch(int(str(draft["id"])), 0) == 0

    own = await client.post(f"/ops/v1/broadcasts/{draft['id']}/approve", headers=author)
    assert own.status_code == 403 and own.json()["code"] == "broadcast.four_eyes"
    approved = await client.post(f"/ops/v1/broadcasts/{draft['id']}/approve", headers=approver)
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    again = await client.post(f"/ops/v1/broadcasts/{draft['id']}/approve", headers=approver)
    assert again.status_code == 409 and again.json()["code"] == "broadcast.not_draft"

    await broadcasts.Broadcast.filter(id=draft["id"]).update(send_at=utcnow() - timedelta(minutes=1))
    await run_jobs()
    await broadcasts.resume_stalled()  # the backstop asks again: nothing more is sent
    await run_jobs()
    done = (await client.get(f"/ops/v1/broadcasts/{draft['id']}", headers=approver)).json()
    assert done["status"] == "sent" and done["finished_at"]
    figures = done["figures"]
    assert figures["targeted"] == 7 and figures["suppressed_no_consent"] == 1
    assert figures["suppressed_opted_out"] == 1
    assert figures["sent"] == 5
    assert await MessageDelivery.filter(kind=MessageKind.BROADCAST, member_id=outsider[1]).count() == 0
    if figures["sent"]:
        inbox = (await client.get("/mp/v1/messages", headers=payroll[0][0])).json()["items"]
        await client.post(f"/mp/v1/messages/{inbox[0]['id']}/read", headers=payroll[0][0])
        assert (await client.get(f"/ops/v1/broadcasts/{draft['id']}", headers=author)).json()["figures"][
            "opened"
        ] == 1


async def test_bad_broadcasts_are_refused(client: httpx.AsyncClient) -> None:
    author, approver = await team(client)
    for body, field in (
        ({"title": ""}, "title"),
        ({"tiers": ["platinum"]}, "tiers.0"),
        ({"tags": ["Bad"]}, "tags.0"),
    ):
        refused = await client.post(
            "/ops/v1/broadcasts", json={"title": "t", "body": "b", **body}, headers=author
        )
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, refused.text
    assert (
        await client.post("/ops/v1/broadcasts", json={"title": "t", "body": "b"}, headers=approver)
    ).status_code == 403
    missing = await client.get("/ops/v1/broadcasts/999999", headers=author)
    assert missing.status_code == 404 and missing.json()["code"] == "broadcast.not_found"
    draft = await write(client, author)
    cancelled = await client.post(f"/ops/v1/broadcasts/{draft['id']}/cancel", headers=author)
    assert cancelled.json()["status"] == "cancelled"
    late = await client.post(f"/ops/v1/broadcasts/{draft['id']}/approve", headers=approver)
    assert late.status_code == 409


MEMBERS = 1500


def start_worker() -> subprocess.Popen[bytes]:
    """A real worker process on the test stores, sending broadcasts in batches of 50."""
    env = os.environ | {
        "LINLI_MESSAGE_BROADCAST_BATCH": "50",
        "LINLI_MESSAGE_QUIET_START_HOUR": "0",
        "LINLI_MESSAGE_QUIET_END_HOUR": "0",
        "LINLI_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env, stdout=subprocess.DEVNULL)


async def wait_for(condition: object, worker: subprocess.Popen[bytes], seconds: float = 180) -> None:
    """Poll an async condition; kill the worker and fail after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await condition():  # type: ignore[operator]
        if loop.time() > deadline or worker.poll() is not None:
            worker.kill()
            worker.wait()
            raise AssertionError(f"not within {seconds} s: {await MessageDelivery.all().count()} delivered")
        await asyncio.sleep(0.05)


async def test_a_broadcast_killed_mid_send_resumes_without_duplicates(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_quiet_hours(monkeypatch)
    author, approver = await team(client)
    now = utcnow()
    await Member.bulk_create(
        [Member(openid=f"bc-{i}", joined_at=now, marketing=True) for i in range(MEMBERS)], batch_size=500
    )
    draft = await write(client, author)
    await Broadcast.filter(id=draft["id"]).update(send_at=now - timedelta(minutes=1))
    worker = start_worker()
    try:
        approved = await client.post(f"/ops/v1/broadcasts/{draft['id']}/approve", headers=approver)
        assert approved.status_code == 200, approved.text

        async def some_sent() -> bool:
            return await MessageDelivery.filter(kind=MessageKind.BROADCAST).count() >= 200

        await wait_for(some_sent, worker)
    finally:
        worker.kill()  # SIGKILL mid-send
        worker.wait()
    killed_at = await MessageDelivery.filter(kind=MessageKind.BROADCAST).count()
    assert killed_at < MEMBERS
    await broadcasts.resume_stalled()  # the backstop cron's work, without waiting ten minutes
    worker = start_worker()
    try:

        async def finished() -> bool:
            return (await Broadcast.get(id=draft["id"])).status == BroadcastStatus.SENT

        await wait_for(finished, worker)
    finally:
        worker.kill()
        worker.wait()
    deliveries = await MessageDelivery.filter(kind=MessageKind.BROADCAST).values_list("member_id", flat=True)
    assert len(deliveries) == len(set(deliveries)) == MEMBERS
    figures = (await client.get(f"/ops/v1/broadcasts/{draft['id']}", headers=author)).json()["figures"]
    assert figures["sent"] == MEMBERS and figures["targeted"] == MEMBERS
    assert not await MessageOptOut.exists()
