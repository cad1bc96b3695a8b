"""Customer safety on real response bodies: every `/mp/v1` route, the fast lanes included.

`test_customer_safety.py` reads the OpenAPI schema, but the two fast lanes (nearby, the grab) answer
before FastAPI and nearby's items are JSON rendered by Redis from the store summaries the discovery
index keeps, so no schema stands between a private field and a customer. Here a world with an active
merchant (known legal representative, settlement account, credit code), two members, a voucher, a
bill order and a live flash sale is built, every `/mp/v1` route is called for real as a member with
that member's own ids, and every body is searched for the forbidden field names and for the private
values themselves. docs/testing.md lists the break this test was proven against.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
from fastapi.routing import APIRoute

from app.main import mounts
from app.openapi import current_openapi
from loyalty import messages
from loyalty.models import Member, MessageKind
from merchants.models import Merchant
from tests.billpay.support import create_order, make_biller
from tests.campaigns import support as ch
from tests.helpers import login_operator, run_jobs
from tests.loyalty.support import joined_member, sale
from tests.loyalty.test_vouchers import published_benefit
from tests.merchants.support import CENTRE, active_merchant, create_branch
from tests.miniprogram.test_customer_safety import FORBIDDEN

_PARAM = re.compile(r"{(\w+)}")
LEGAL_REP = "Zhou Legalrep"
LEGAL_PHONE = "13987654321"
ACCOUNT = "6222020200998877665"

# Query parameters the routes need to answer more than 422.
QUERIES: dict[str, dict[str, Any]] = {
    "/mp/v1/stores/nearby": {"lat": CENTRE[0], "lng": CENTRE[1]},
    "/mp/v1/bills/vouchers": {"amount": 100_000},
}
# Not called: logging out would end the session the rest of the walk uses (its body is empty anyway).
SKIPPED = {("POST", "/mp/v1/auth/logout")}


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def _body(method: str, path: str) -> Any:
    document = current_openapi()
    content = (
        document["paths"][path][method.lower()]
        .get("requestBody", {})
        .get("content", {})
        .get("application/json")
    )
    if content is None:
        return None
    ref = content["schema"].get("$ref", "").rsplit("/", 1)[-1]
    return document["components"]["schemas"].get(ref, {}).get("example") or {}


def _mp_routes() -> list[tuple[str, str]]:
    routes = [
        (method, mount.prefix + route.path)
        for mount in mounts()
        for route in mount.router.routes
        if isinstance(route, APIRoute) and (mount.prefix + route.path).startswith("/mp/v1/")
        for method in sorted(route.methods - {"HEAD", "OPTIONS"})
    ]
    order = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}  # reads, then changes, then deletions
    return sorted(routes, key=lambda r: order[r[0]])


async def test_no_customer_body_carries_secrets_or_private_data(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    owner, merchant_id, store_id = await active_merchant(
        client, admin, legal_rep_name=LEGAL_REP, legal_rep_phone=LEGAL_PHONE, settlement_account=ACCOUNT
    )
    await run_jobs()  # the store enters the nearby index
    member, member_id = await joined_member(client)
    _, other_id = await joined_member(client)
    assert (await sale(client, owner, member, 60_000)).status_code == 201
    benefit_id = await published_benefit(client)
    bought = await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=member)
    assert bought.status_code == 201, bought.text
    biller = await make_biller(client, admin)
    account = await client.post(
        "/mp/v1/bills/accounts",
        json={"biller_id": biller["id"], "account_no": "3100000042", "nickname": "家里电费"},
        headers=member,
    )
    assert account.status_code == 201, account.text
    order = await create_order(client, member, biller["id"], "3100000042")
    assert order.status_code == 201, order.text
    campaign_id = await ch.live_flash(client, await ch.ops(client), stock=5)
    refund = {"biller": "Power", "reason": "declined.", "amount": "¥1.00"}
    message = await messages.send(member_id, MessageKind.BILL_REFUNDED, refund, "bodies")
    ids = {
        "message_id": message.id,
        "store_id": store_id,
        "benefit_id": benefit_id,
        "voucher_id": int(bought.json()["id"]),
        "account_id": int(account.json()["id"]),
        "order_id": int(order.json()["id"]),
        "campaign_id": campaign_id,
    }
    merchant = await Merchant.get(id=merchant_id)
    private_values = {
        LEGAL_REP,
        LEGAL_PHONE,
        ACCOUNT,
        str(merchant.credit_code),
        *(m.openid for m in await Member.filter(id__in=[member_id, other_id])),
    }

    leaks: dict[str, list[str]] = {}
    answered: set[tuple[str, str]] = set()
    for method, path in _mp_routes():
        if (method, path) in SKIPPED:
            continue
        params = _PARAM.findall(path)
        assert all(p in ids for p in params), f"{method} {path}: give the walk an id for {params}"
        url = path
        for name in params:
            url = url.replace(f"{{{name}}}", str(ids[name]))
        response = await client.request(
            method, url, params=QUERIES.get(path), json=_body(method, path), headers=member
        )
        if response.status_code < 300:
            answered.add((method, path))
        if not response.content or "json" not in response.headers.get("content-type", ""):
            continue
        found = sorted(_keys(orjson.loads(response.content)) & FORBIDDEN)
        found += sorted(v for v in private_values if v in response.text)
        if found:
            leaks[f"{method} {url}"] = found

    # The walk really reached the API, both fast lanes included, with the world in their answers.
    assert len(answered) > 30, sorted(answered)
    assert {("GET", "/mp/v1/stores/nearby"), ("POST", "/mp/v1/campaigns/{campaign_id}/grab")} <= answered
    nearby = await client.get("/mp/v1/stores/nearby", params=QUERIES["/mp/v1/stores/nearby"])
    assert [s["id"] for s in nearby.json()["items"]] == [store_id]
    assert leaks == {}
