"""Campaign events belong to one deployment, and no message alone changes an answer: Redis channels are
server-wide (not per database), so a `soldout` from another deployment sharing the server once made
this one answer sold_out with stock left. Now channels carry the deployment's namespace, and a
sold-out message is believed only once Redis's own state confirms it."""

from __future__ import annotations

import asyncio

import httpx

from app.core.redis_client import get_redis
from campaigns.flash.keys import events_channel, k
from campaigns.flash.runtime import runtime
from tests.campaigns import support as ch
from tests.campaigns.support import Ops


async def followed(sentinel: int) -> None:
    """Wait until the runtime's follower handled every message published before this call: a `changed`
    of a campaign whose view is cached makes it drop that view, in order with the others."""
    await runtime.view(sentinel)
    assert sentinel in runtime.views
    await get_redis().publish(events_channel(), f"changed {sentinel}")
    for _ in range(200):
        if sentinel not in runtime.views:
            await asyncio.sleep(0.2)  # a confirmation the follower started has its round trip
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the follower never handled the sentinel")


async def test_a_sold_out_message_alone_makes_no_grab_answer_sold_out(
    client: httpx.AsyncClient, team: Ops
) -> None:
    campaign_id = await ch.live_flash(client, team, stock=5)
    sentinel = await ch.live_flash(client, team, stock=5)
    ((_, first),) = await ch.members(1)
    async with ch.process_runtime():
        epoch = int(await get_redis().hget(k(campaign_id, "meta"), "epoch"))  # type: ignore[misc]
        channel = events_channel()
        assert channel.startswith("linli:") and channel.endswith(":campaigns:events")
        # Another deployment on the same server (another database number), then a forged message on ours.
        await get_redis().publish("linli:db15:campaigns:events", f"soldout {campaign_id} {epoch}")
        await get_redis().publish(channel, f"soldout {campaign_id} {epoch}")
        await followed(sentinel)
        assert campaign_id not in runtime.sold_out
        assert (await ch.grab(client, campaign_id, first)).json()["outcome"] == "won"


async def test_a_confirmed_sold_out_message_spares_redis_the_next_grabs(
    client: httpx.AsyncClient, team: Ops
) -> None:
    campaign_id = await ch.live_flash(client, team, stock=1)
    sentinel = await ch.live_flash(client, team, stock=5)
    (_, first), (_, second) = await ch.members(2)
    async with ch.process_runtime():
        assert (await ch.grab(client, campaign_id, first)).json()["outcome"] == "won"
        runtime.reset()  # as if the win had happened in another API process
        await runtime.view(campaign_id)
        epoch = int(await get_redis().hget(k(campaign_id, "meta"), "epoch"))  # type: ignore[misc]
        await get_redis().publish(events_channel(), f"soldout {campaign_id} {epoch}")
        await followed(sentinel)
        assert campaign_id in runtime.sold_out  # Redis confirmed it: the flag is armed
        assert (await ch.grab(client, campaign_id, second)).json()["outcome"] == "sold_out"
