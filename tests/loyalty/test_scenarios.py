"""DOMAIN.md scenarios 2, 4 and 6 end to end over the API, with the ledger check after each."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import timedelta

import httpx

from app.core.db import transaction
from app.core.jobs import enqueue
from app.core.timeutil import business_day, utcnow
from loyalty.ledger.tasks import expire_points
from loyalty.models import PointsLot, SettlementLine, Voucher
from loyalty.settlement.tasks import build_settlement
from tests.conftest import BACKEND
from tests.helpers import PASSWORD, bearer, login_operator, next_phone, run_jobs
from tests.loyalty.support import active_merchant, assert_ledger_sound, member_code, sale
from tests.loyalty.test_vouchers import published_benefit, redeem, token_for
from tests.merchants import support as merchants_support


async def cashier_of(client: httpx.AsyncClient, owner: dict[str, str]) -> dict[str, str]:
    """The owner invites a cashier, who logs in at the till."""
    phone = next_phone()
    invited = await client.post(
        "/merchant/v1/staff",
        json={"phone": phone, "name": "Barista", "role": "cashier", "password": PASSWORD},
        headers=owner,
    )
    assert invited.status_code == 201, invited.text
    login = await client.post("/merchant/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    return bearer(login.json()["access_token"])


async def test_scenario_2_a_customer_joins_and_earns_points_for_lunch(client: httpx.AsyncClient) -> None:
    # The noodle shop was onboarded (scenario 1): reviewed, approved, its store QR code issued.
    manager = await login_operator(client, "grid_manager")
    grid = await merchants_support.create_branch(client, manager)
    owner, merchant_id, store_id = await merchants_support.active_merchant(
        client, manager, "Lao Wang Noodles"
    )
    store_code = (await client.get(f"/merchant/v1/stores/{store_id}/qr", headers=owner)).json()["payload"]
    cashier = await cashier_of(client, owner)

    # Login code → platform session (access and rotating refresh token).
    login = await client.post("/mp/v1/auth/login", json={"code": "dev:xiaoming"})
    assert login.status_code == 200
    refreshed = await client.post(
        "/mp/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    member = bearer(refreshed.json()["access_token"])
    profile = (await client.get("/mp/v1/me", headers=member)).json()
    assert profile["joined_at"] is None
    assert (await client.post("/mp/v1/me/code", headers=member)).json()["code"] == "member.not_joined"

    joined = await client.post(
        "/mp/v1/me/join", json={"share_profile": True, "marketing": False}, headers=member
    )
    assert joined.status_code == 200 and joined.json()["joined_at"] is not None
    bound = await client.post("/mp/v1/me/phone", json={"code": "dev:13812345678"}, headers=member)
    assert bound.json()["phone"] == "138****5678"
    member_id = joined.json()["id"]

    # The member scans the store QR code at the door: the store, and the shop now knows them.
    scanned = await client.post("/mp/v1/stores/scan", json={"payload": store_code}, headers=member)
    assert scanned.status_code == 200 and scanned.json()["merchant_id"] == merchant_id
    known = (await client.get("/merchant/v1/members", headers=owner)).json()["items"]
    assert [(m["member_id"], m["visits"], m["spend_fen"]) for m in known] == [(member_id, 1, 0)]

    lunch = await client.post(
        "/merchant/v1/sales",
        json={"member_code": await member_code(client, member), "amount_fen": 4650, "receipt_no": "T1-0042"},
        headers={**cashier, "Idempotency-Key": "till-1-0042"},
    )
    assert lunch.status_code == 201, lunch.text
    assert lunch.json()["points"] == 46

    points = (await client.get("/mp/v1/points", headers=member)).json()
    assert (points["balance"], points["tier"], points["earned_12_months"]) == (46, "regular", 46)
    history = (await client.get("/mp/v1/points/history", headers=member)).json()["items"]
    assert [(h["points"], h["merchant_name"]) for h in history] == [(46, "Lao Wang Noodles")]

    known = (await client.get("/merchant/v1/members", headers=owner)).json()["items"]
    assert len(known) == 1
    assert (known[0]["phone"], known[0]["visits"], known[0]["spend_fen"], known[0]["points_earned"]) == (
        "138****5678",
        2,
        4650,
        46,
    )
    # The account manager follows the shop on the grid dashboard.
    line = (await client.get(f"/ops/v1/grids/{grid}/merchants", headers=manager)).json()["items"][0]
    assert (line["id"], line["inactive"]) == (merchant_id, False)
    figures = line["metrics"]
    assert (figures["members_joined"], figures["sales_count"], figures["sales_fen"]) == (1, 1, 4650)
    assert figures["points_issued"] == 46
    await assert_ledger_sound()


async def test_scenario_4_a_voucher_redeems_once_only_here_and_only_while_valid(
    client: httpx.AsyncClient,
) -> None:
    coffee_owner, _ = await active_merchant(client, "Corner Coffee", category="catering")
    barista = await cashier_of(client, coffee_owner)
    bakery, _ = await active_merchant(client, "Bread Shop", category="retail")
    # Category benefits follow the merchants' business categories (one list for filters and benefits).
    benefit_id = await published_benefit(
        client, name="¥5 off coffee", eligibility="category", categories=["catering"], per_member_limit=3
    )
    member = bearer(
        (await client.post("/mp/v1/auth/login", json={"code": "dev:meimei"})).json()["access_token"]
    )
    await client.post("/mp/v1/me/join", json={"share_profile": False}, headers=member)
    await sale(client, coffee_owner, member, 90_000)  # 900 points
    vouchers = [
        (await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=member)).json()["id"]
        for _ in range(3)
    ]

    token = await token_for(client, member, vouchers[0])
    scanned = await redeem(client, barista, token, 3200)
    assert scanned.status_code == 201 and scanned.json()["payable_fen"] == 2700
    again = await redeem(client, barista, token, 3200)
    with_fresh_token = await client.post(f"/mp/v1/vouchers/{vouchers[0]}/token", headers=member)
    assert again.status_code == 409 and again.json()["code"] == "voucher.used"
    assert with_fresh_token.status_code == 409 and with_fresh_token.json()["code"] == "voucher.used"

    elsewhere = await redeem(client, bakery, await token_for(client, member, vouchers[1]), 3200)
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "voucher.not_valid_here"

    token = await token_for(client, member, vouchers[2])
    await Voucher.filter(id=vouchers[2]).update(
        valid_until=utcnow() - timedelta(seconds=1)
    )  # its validity is over
    late = await redeem(client, barista, token, 3200)
    assert late.status_code == 410 and late.json()["code"] == "voucher.expired"

    statuses = {
        v["id"]: v["status"] for v in (await client.get("/mp/v1/vouchers", headers=member)).json()["items"]
    }
    assert statuses == {vouchers[0]: "used", vouchers[1]: "active", vouchers[2]: "expired"}
    assert (await client.get("/merchant/v1/members", headers=coffee_owner)).json()[
        "items"
    ] == []  # no consent
    await assert_ledger_sound()


async def test_scenario_6_nightly_expiry_and_settlement_statements_for_ops(client: httpx.AsyncClient) -> None:
    ops = await login_operator(client, "grid_manager")
    await merchants_support.create_branch(client, ops)
    coffee, coffee_id, _ = await merchants_support.active_merchant(client, ops, "Corner Coffee")
    noodles, noodles_id, _ = await merchants_support.active_merchant(client, ops, "Noodles")
    await client.put(
        f"/ops/v1/loyalty/merchants/{coffee_id}/terms",
        json={"earn_rate": 100, "point_value_fen": 2},
        headers=ops,
    )
    member = bearer(
        (await client.post("/mp/v1/auth/login", json={"code": "dev:lili"})).json()["access_token"]
    )
    await client.post("/mp/v1/me/join", json={"share_profile": True}, headers=member)

    await sale(client, coffee, member, 50_000)  # 500 points funded by coffee at 2 fen: coffee owes 1000
    await sale(client, noodles, member, 20_000)  # 200 points funded by noodles at 1 fen: noodles owes 200
    paid = await client.post(
        "/merchant/v1/points-payments",
        json={"member_code": await member_code(client, member), "points": 300},
        headers=coffee,
    )
    assert paid.json()["value_fen"] == 600  # the bank owes coffee 600
    benefit_id = await published_benefit(client, price_points=100)  # bank-funded ¥5 off
    voucher_id = (await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=member)).json()["id"]
    redeemed = await redeem(client, coffee, await token_for(client, member, voucher_id), 2000)
    assert redeemed.json()["settlement_fen"] == 500  # the bank owes coffee 500
    reversed_voucher = await client.post(
        f"/merchant/v1/redemptions/{redeemed.json()['id']}/reverse", headers=coffee
    )
    assert reversed_voucher.status_code == 200  # and takes it back: -500

    # The member sees when the points they hold expire.
    expiring = (await client.get("/mp/v1/points/expiring", headers=member)).json()
    assert sum(e["points"] for e in expiring) == 300
    # Noodles is suspended before the night: its day's activity is settled all the same.
    suspended = await client.post(
        f"/ops/v1/merchants/{noodles_id}/suspend", json={"reason": "licence renewal"}, headers=ops
    )
    assert suspended.status_code == 200, suspended.text

    # Night: the points earned a year ago expire (the job runs as of after their expiry).
    lot = await PointsLot.filter(remaining__gt=0).order_by("expires_at").first()
    assert lot is not None
    async with transaction():
        await enqueue(expire_points, (lot.expires_at + timedelta(minutes=5)).isoformat())
    await run_jobs()
    points = (await client.get("/mp/v1/points", headers=member)).json()
    assert points["balance"] == 0
    history = (await client.get("/mp/v1/points/history", headers=member)).json()["items"]
    assert (history[0]["kind"], history[0]["points"]) == ("expire", -300)

    # Night: statements for the business day, built twice: no line twice. Ops may run an ended day
    # again over the API; a day that has not ended cannot be settled.
    today = business_day()
    admin = await login_operator(client)
    too_early = await client.post("/ops/v1/settlement/runs", json={"day": today.isoformat()}, headers=admin)
    assert too_early.status_code == 422 and too_early.json()["errors"][0]["field"] == "day"
    yesterday = (today - timedelta(days=1)).isoformat()
    rerun = await client.post("/ops/v1/settlement/runs", json={"day": yesterday}, headers=admin)
    assert rerun.status_code == 202, rerun.text
    for _ in range(2):
        async with transaction():
            await enqueue(build_settlement, today.isoformat())
        await run_jobs()
    assert await SettlementLine.all().count() == 5
    quiet_day = await client.get(f"/ops/v1/settlement/statements?day={yesterday}", headers=admin)
    assert quiet_day.json()["items"] == []
    listed = (await client.get(f"/ops/v1/settlement/statements?day={today}", headers=admin)).json()["items"]
    by_merchant = {s["merchant_id"]: s for s in listed}
    assert (by_merchant[coffee_id]["payable_fen"], by_merchant[coffee_id]["receivable_fen"]) == (1100, 1500)
    assert by_merchant[coffee_id]["net_fen"] == -400
    assert (by_merchant[noodles_id]["net_fen"], by_merchant[noodles_id]["line_count"]) == (-200, 1)

    download = await client.get(f"/ops/v1/settlement/statements.csv?day={today}", headers=admin)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["merchant_name"], r["net_fen"], r["status"]) for r in rows] == [
        ("Corner Coffee", "-400", "draft"),
        ("Noodles", "-200", "draft"),
    ]

    own = (await client.get("/merchant/v1/settlement/statements", headers=noodles)).json()["items"]
    assert [s["merchant_id"] for s in own] == [noodles_id]
    coffee_statement = by_merchant[coffee_id]["id"]
    assert (
        await client.get(f"/merchant/v1/settlement/statements/{coffee_statement}", headers=noodles)
    ).status_code == 404
    lines = (
        await client.get(f"/merchant/v1/settlement/statements/{coffee_statement}/lines", headers=coffee)
    ).json()
    assert sorted(line["amount_fen"] for line in lines["items"]) == [-1000, -500, 500, 600]

    paid_early = await client.post(f"/ops/v1/settlement/statements/{coffee_statement}/pay", headers=admin)
    confirmed = await client.post(f"/ops/v1/settlement/statements/{coffee_statement}/confirm", headers=admin)
    settled = await client.post(f"/ops/v1/settlement/statements/{coffee_statement}/pay", headers=admin)
    assert paid_early.status_code == 409 and paid_early.json()["code"] == "settlement.invalid_transition"
    assert confirmed.json()["status"] == "confirmed" and settled.json()["status"] == "paid"
    assert (await client.get("/ops/v1/ledger/check", headers=admin)).json() == []
    await assert_ledger_sound()


def _ledger_check_cli() -> subprocess.CompletedProcess[str]:
    linli = os.path.join(os.path.dirname(sys.executable), "linli")
    return subprocess.run(
        [linli, "ledger", "check"], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )


async def test_linli_ledger_check_exits_non_zero_on_a_break(client: httpx.AsyncClient) -> None:
    from app.core import sql

    merchant, _ = await active_merchant(client)
    member = bearer((await client.post("/mp/v1/auth/login", json={"code": "dev:ann"})).json()["access_token"])
    await client.post("/mp/v1/me/join", json={"share_profile": True}, headers=member)
    await sale(client, merchant, member, 10_000)
    if BACKEND == "sqlite":
        await sql.execute("PRAGMA wal_checkpoint(FULL)")

    sound = _ledger_check_cli()
    assert sound.returncode == 0, sound.stderr
    assert "ledger check passed" in sound.stdout

    await sql.execute(
        "UPDATE loyalty_points_account SET balance = balance + 1"
    )  # a balance drifts from its entries
    if BACKEND == "sqlite":
        await sql.execute("PRAGMA wal_checkpoint(FULL)")
    broken = _ledger_check_cli()
    assert broken.returncode == 1
    assert "member balance equals the sum of its entries" in broken.stderr
    await sql.execute("UPDATE loyalty_points_account SET balance = balance - 1")
