"""Stores show their live campaigns: the store page (and a scanned store code) lists the campaigns live at
the store's merchant, and the merchant console lists the campaigns the merchant takes part in."""

from __future__ import annotations

from datetime import timedelta

import httpx

from campaigns.flash.runtime import runtime
from merchants.models import Branch, Merchant, Store
from tests.campaigns import support as ch
from tests.loyalty.support import active_merchant


async def test_store_page_lists_the_campaigns_live_there(client: httpx.AsyncClient) -> None:
    runtime.reset()
    team = await ch.ops(client)
    staff, merchant_id = await active_merchant(client, "Corner Coffee")
    _, other_id = await active_merchant(client, "Other Bakery")
    grid = await Branch.create(name="Branch A", lat=31.2, lng=121.4)
    elsewhere = await Branch.create(name="Branch B", lat=31.3, lng=121.5)
    await Merchant.filter(id=merchant_id).update(grid_id=grid.id)
    store = await Store.get(merchant_id=merchant_id)
    await Store.filter(id=store.id).update(lat=31.2, lng=121.4)

    named = await ch.approved(
        client, team, ch.flash_body(merchant_ids=[merchant_id], lasts=timedelta(hours=2))
    )
    by_grid = await ch.approved(client, team, ch.flash_body(grid_ids=[grid.id], lasts=timedelta(hours=1)))
    await ch.approved(client, team, ch.flash_body(merchant_ids=[other_id]))  # another merchant's
    await ch.approved(client, team, ch.flash_body(grid_ids=[elsewhere.id]))  # another grid's
    upcoming = await ch.approved(
        client, team, ch.flash_body(merchant_ids=[merchant_id], starts_in=timedelta(hours=1))
    )
    ended = await ch.approved(client, team, ch.flash_body(merchant_ids=[merchant_id]))
    await client.post(f"/ops/v1/campaigns/{ended['id']}/end", json={"reason": "test"}, headers=team.author)
    assert (named["status"], by_grid["status"], upcoming["status"]) == ("live", "live", "approved")

    # A flash campaign's grids are whom it admits: a visitor without a token sees only the campaign
    # open to everyone, a member living in the grid sees both.
    anonymous = await client.get(f"/mp/v1/stores/{store.id}")
    assert [c["campaign_id"] for c in anonymous.json()["campaigns"]] == [named["id"]], anonymous.text
    [(_, neighbour)] = await ch.segment_members(1, grid=grid.id)
    page = await client.get(f"/mp/v1/stores/{store.id}", headers=neighbour)
    assert page.status_code == 200, page.text
    shown = page.json()["campaigns"]
    assert [c["campaign_id"] for c in shown] == [by_grid["id"], named["id"]]  # soonest to end first
    assert shown[1] == {
        "campaign_id": named["id"],
        "name": named["name"],
        "type": "flash",
        "ends_at": shown[1]["ends_at"],
    }
    assert page.json()["name"] == store.name  # the profile itself is unchanged

    # The merchant console lists the merchant's live and upcoming campaigns.
    console = (await client.get("/merchant/v1/campaigns", headers=staff)).json()["items"]
    assert sorted(c["id"] for c in console) == sorted([named["id"], upcoming["id"]])


async def test_a_store_without_campaigns_shows_none(client: httpx.AsyncClient) -> None:
    _, merchant_id = await active_merchant(client)
    store = await Store.get(merchant_id=merchant_id)
    await Store.filter(id=store.id).update(lat=31.2, lng=121.4)
    page = await client.get(f"/mp/v1/stores/{store.id}")
    assert page.json()["campaigns"] == []


async def test_store_page_lists_only_the_campaigns_open_to_the_viewer(client: httpx.AsyncClient) -> None:
    runtime.reset()
    team = await ch.ops(client)
    _, merchant_id = await active_merchant(client, "Corner Coffee")
    store = await Store.get(merchant_id=merchant_id)
    await Store.filter(id=store.id).update(lat=31.2, lng=121.4)
    [(_, gold)] = await ch.segment_members(1, tier="gold")
    [(_, regular)] = await ch.segment_members(1, tier="regular")
    everyone = await ch.approved(client, team, ch.flash_body(merchant_ids=[merchant_id]))
    for_gold = await ch.approved(
        client, team, ch.flash_body(merchant_ids=[merchant_id], audience={"tiers": ["gold"]})
    )
    assert (everyone["status"], for_gold["status"]) == ("live", "live")

    async def shown(headers: dict[str, str] | None = None) -> set[int]:
        page = await client.get(f"/mp/v1/stores/{store.id}", headers=headers)
        assert page.status_code == 200, page.text
        return {c["campaign_id"] for c in page.json()["campaigns"]}

    assert await shown(gold) == {everyone["id"], for_gold["id"]}
    assert await shown(regular) == {everyone["id"]}
    assert await shown() == {everyone["id"]}  # without a token: what is open to everyone
    forged = await client.get(f"/mp/v1/stores/{store.id}", headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401
