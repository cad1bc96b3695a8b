"""The member pool: phone binding, consents and known members, tiers, tags and segments."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.core.crypto import lookup_hash
from app.core.timeutil import utcnow
from loyalty import ledger as loyalty_ledger
from loyalty import members as loyalty_members
from loyalty.ledger import tiers
from loyalty.members import segments
from loyalty.models import Member, MemberTag, PointsLot, Tier
from tests.helpers import login_member, login_operator
from tests.loyalty.support import active_merchant, assert_ledger_sound, joined_member, sale


async def test_phone_binding_is_encrypted_masked_and_unique(client: httpx.AsyncClient) -> None:
    first, first_id = await joined_member(client)
    second, _ = await joined_member(client)

    bound = await client.post("/mp/v1/me/phone", json={"code": "dev:13912345678"}, headers=first)
    again = await client.post("/mp/v1/me/phone", json={"code": "dev:13912345678"}, headers=first)
    taken = await client.post("/mp/v1/me/phone", json={"code": "dev:13912345678"}, headers=second)
    rejected = await client.post("/mp/v1/me/phone", json={"code": "dev:12345"}, headers=second)

    assert bound.status_code == 200 and bound.json()["phone"] == "139****5678"
    assert again.status_code == 200
    assert taken.status_code == 409 and taken.json()["code"] == "member.phone_taken"
    assert rejected.status_code == 401 and rejected.json()["code"] == "auth.invalid_code"
    stored = await Member.get(id=first_id)
    assert stored.phone_hash == lookup_hash("13912345678")
    assert stored.phone_enc and "13912345678" not in stored.phone_enc


async def test_merchants_see_only_their_consenting_members_masked(client: httpx.AsyncClient) -> None:
    merchant_a, merchant_a_id = await active_merchant(client, "A")
    merchant_b, _ = await active_merchant(client, "B")
    member, member_id = await joined_member(client, share_profile=True)
    shy, _ = await joined_member(client, share_profile=False)
    await client.patch("/mp/v1/me", json={"nickname": "Zhang Wei"}, headers=member)
    await client.post("/mp/v1/me/phone", json={"code": "dev:13700001111"}, headers=member)
    await sale(client, merchant_a, member, 1000)
    await sale(client, merchant_a, shy, 1000)
    await loyalty_members.note_store_scan(member_id, merchant_a_id)

    listed = (await client.get("/merchant/v1/members", headers=merchant_a)).json()["items"]
    assert [(m["member_id"], m["nickname"], m["phone"], m["visits"]) for m in listed] == [
        (member_id, "Z*******i", "137****1111", 2)
    ]
    assert (await client.get("/merchant/v1/members", headers=merchant_b)).json()["items"] == []

    withdrawn = await client.put("/mp/v1/me/consents", json={"share_profile": False}, headers=member)
    assert withdrawn.json()["share_profile"] is False
    assert (await client.get("/merchant/v1/members", headers=merchant_a)).json()["items"] == []


async def test_tiers_follow_points_earned_in_the_trailing_year(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)

    big = (await sale(client, merchant, member, 200_000)).json()  # 2,000 points: silver
    after = (await sale(client, merchant, member, 10_000)).json()  # 100 base points × 1.2
    summary = (await client.get("/mp/v1/points", headers=member)).json()

    assert after["points"] == 120
    assert (summary["tier"], summary["next_tier"], summary["points_to_next_tier"]) == ("silver", "gold", 7880)
    spent = await loyalty_ledger.spend_points(
        member_id, 2000, purpose=loyalty_ledger.SpendPurpose.BENEFIT, reference="spend"
    )
    assert spent.points == 2000
    assert (await Member.get(id=member_id)).tier == Tier.SILVER  # spending does not lower the tier

    await client.post(f"/merchant/v1/sales/{big['id']}/refund", headers=merchant)
    assert (await Member.get(id=member_id)).tier == Tier.REGULAR  # reversed earnings do not count
    await assert_ledger_sound()


async def test_tiers_decay_when_earnings_leave_the_window(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    await sale(client, merchant, member, 200_000)
    lot = await PointsLot.get(member_id=member_id)
    assert (await Member.get(id=member_id)).tier == Tier.SILVER

    a_year_later = lot.created_at.replace(year=lot.created_at.year + 1) + timedelta(hours=1)
    assert tiers.window_start(a_year_later) > lot.created_at
    assert await segments.refresh_dropping_tiers(a_year_later) == 1

    assert (await Member.get(id=member_id)).tier == Tier.REGULAR


async def test_ops_import_tags_from_csv(client: httpx.AsyncClient) -> None:
    ops = await login_operator(client, "campaign_manager")
    _, by_id = await joined_member(client)
    phoned, by_phone = await joined_member(client)
    hashed, by_hash = await joined_member(client)
    await client.post("/mp/v1/me/phone", json={"code": "dev:13600000001"}, headers=phoned)
    await client.post("/mp/v1/me/phone", json={"code": "dev:13600000002"}, headers=hashed)
    csv_text = (
        "member_id,phone,phone_hash\n"
        f"{by_id},,\n"
        ",13600000001,\n"
        f",,{lookup_hash('13600000002')}\n"
        "999999,,\n"
        "abc,,\n"
        ",12345,\n"
    )

    async def upload(tag: str, content: str) -> httpx.Response:
        return await client.post(
            "/ops/v1/members/tags/import",
            data={"tag": tag},
            files={"file": ("payroll.csv", content.encode(), "text/csv")},
            headers=ops,
        )

    first = await upload("payroll", csv_text)
    again = await upload("payroll", csv_text)
    reserved = await upload("new", csv_text)
    headerless = await upload("mortgage", "hello\n1\n")

    assert first.status_code == 200, first.text
    report = first.json()
    assert (report["rows"], report["tagged"], report["already_tagged"], report["unknown"]) == (6, 3, 0, 3)
    assert report["errors"] == [
        "line 6: member_id is not a number",
        "line 7: phone is not a mainland mobile number",
    ]
    assert (again.json()["tagged"], again.json()["already_tagged"]) == (0, 3)
    assert reserved.status_code == 422 and reserved.json()["errors"][0]["field"] == "tag"
    assert headerless.status_code == 422 and headerless.json()["errors"][0]["field"] == "file"
    assert set(await MemberTag.filter(tag="payroll").values_list("member_id", flat=True)) == {
        by_id,
        by_phone,
        by_hash,
    }

    listed = (await client.get("/ops/v1/members?tag=payroll", headers=ops)).json()["items"]
    assert {m["id"] for m in listed} == {by_id, by_phone, by_hash}
    assert {m["phone"] for m in listed} == {None, "136****0001", "136****0002"}
    assert {"tag": "payroll", "members": 3} in (await client.get("/ops/v1/members/tags", headers=ops)).json()
    removed = await client.delete("/ops/v1/members/tags/payroll", headers=ops)
    assert removed.json() == {"tag": "payroll", "members": 3}


async def test_automatic_tags_new_and_dormant(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, member_id = await joined_member(client)
    outsider = await login_member(client)  # logged in, never joined: not new
    assert outsider

    await segments.refresh_automatic_tags()
    assert set(await MemberTag.filter(tag="new").values_list("member_id", flat=True)) == {member_id}
    assert await MemberTag.filter(tag="dormant").count() == 0

    months_later = utcnow() + timedelta(days=100)
    await segments.refresh_automatic_tags(months_later)
    assert await MemberTag.filter(tag="new").count() == 0
    assert await MemberTag.filter(tag="dormant", member_id=member_id).exists()

    await sale(client, merchant, member, 1000)  # activity ends dormancy, as of a run after it
    await Member.filter(id=member_id).update(last_active_at=utcnow() - timedelta(days=200))
    await segments.refresh_automatic_tags(utcnow() + timedelta(days=1))
    assert not await MemberTag.filter(tag="dormant", member_id=member_id).exists()


async def test_segments_for_campaign_targeting(client: httpx.AsyncClient) -> None:
    gold_payroll = [(await joined_member(client))[1] for _ in range(3)]
    gold_only = (await joined_member(client))[1]
    payroll_only = (await joined_member(client))[1]
    await Member.filter(id__in=[*gold_payroll, gold_only]).update(tier=Tier.GOLD)
    await MemberTag.bulk_create(
        [MemberTag(member_id=m, tag="payroll", source="import") for m in [*gold_payroll, payroll_only]]
    )

    batches = [
        b async for b in loyalty_members.members_in_segment(tiers=[Tier.GOLD], tags=["payroll"], batch=2)
    ]
    everyone_payroll = [m async for b in loyalty_members.members_in_segment(tags=["payroll"]) for m in b]

    assert batches == [gold_payroll[:2], gold_payroll[2:]]
    assert everyone_payroll == [*gold_payroll, payroll_only]
    found = await loyalty_members.member_segments(gold_payroll[0])
    assert (found.tier, found.tags) == (Tier.GOLD, frozenset({"payroll"}))


async def test_profile_editing_and_joining_twice(client: httpx.AsyncClient) -> None:
    member, _ = await joined_member(client)
    first_join = (await client.get("/mp/v1/me", headers=member)).json()["joined_at"]

    edited = await client.patch(
        "/mp/v1/me", json={"nickname": "Li", "birthday": "1990-05-17"}, headers=member
    )
    rejoined = await client.post(
        "/mp/v1/me/join", json={"share_profile": False, "marketing": True}, headers=member
    )
    empty = await client.patch("/mp/v1/me", json={"nickname": ""}, headers=member)
    bad_consent = await client.put("/mp/v1/me/consents", json={"marketing": "yes"}, headers=member)

    assert (edited.json()["nickname"], edited.json()["birthday"]) == ("Li", "1990-05-17")
    assert rejoined.json()["joined_at"] == first_join
    assert (rejoined.json()["share_profile"], rejoined.json()["marketing"]) == (False, True)
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "nickname"
    assert bad_consent.status_code == 422 and bad_consent.json()["errors"][0]["field"] == "marketing"
