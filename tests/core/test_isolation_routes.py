"""Isolation generated from the route table: another party's ids give 404 on every id-bearing route.

Two parties, A (the caller) and B, each own one of everything: a grid with its grid manager, an active
merchant in it with a store, a staff account, a pending legal change, a merchant benefit proposal, a
sale, a points payment, a voucher redemption and a settlement statement; a member with a voucher, a
bill account and a bill order.

The test walks the mounted routers (`app.main.mounts()`), not a hand-written list, so a route added
tomorrow is covered the day it is added: a path parameter this world has no ids for fails the test
until the world (`_ids`) learns it. For every id-bearing route of `/merchant/v1`, `/mp/v1` and the
grid-scoped part of `/ops/v1` (the routes a grid manager may call, called as the manager of A's grid),
each path parameter in turn takes B's id while the others keep A's — so a child looked up without its
parent's scope (A's merchant, B's change) is caught too — and the answer must be 404 with nothing
changed. A second test compares every list route A can call before and after B's world exists:
another party's rows leaking into a list change it.

`docs/testing.md` lists the breaks these tests were proven against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.routing import APIRoute

from app.core.auth.deps import ROLES_ATTR
from app.core.models import AuditEntry
from app.core.timeutil import business_day
from app.main import mounts
from app.openapi import current_openapi
from loyalty import messages
from loyalty.models import MessageKind
from loyalty.settlement import statements as settlement
from tests.billpay.support import create_order, make_biller
from tests.helpers import login_member, login_operator, next_phone
from tests.loyalty.support import member_code
from tests.loyalty.test_vouchers import published_benefit, token_for
from tests.merchants.support import CENTRE, active_merchant, create_branch, offset

FAR = offset(*CENTRE, north_m=10_000)
_PARAM = re.compile(r"{(\w+)}")

# Id-bearing routes where an answer other than 404 is right for another party's id. Each says why.
ALLOWED: dict[tuple[str, str], str] = {
    # A store's public page: any member may open any active store (the point of the alliance).
    ("GET", "/mp/v1/stores/{store_id}"): "public store page",
    # The branch map is shared by the bank's grid managers (GET /ops/v1/branches lists every branch);
    # changing a branch and everything about its merchants is scoped (PATCH and the grid routes are checked).
    ("GET", "/ops/v1/branches/{branch_id}"): "shared branch map",
    ("GET", "/ops/v1/grids/{grid_id}/managers"): "who manages a branch: a bank-internal directory",
    # Campaigns belong to the platform, not to a member: whom one admits is the audience rules' business
    # (tests/campaigns/test_audience.py), and no member owns a campaign id.
    **{
        (method, path): "platform campaign, audience-checked elsewhere"
        for method, path in (
            ("GET", "/mp/v1/campaigns/{campaign_id}"),
            ("GET", "/mp/v1/campaigns/{campaign_id}/stock"),
            ("POST", "/mp/v1/campaigns/{campaign_id}/grab"),
            ("GET", "/mp/v1/campaigns/{campaign_id}/participation"),
            ("POST", "/mp/v1/campaigns/{campaign_id}/check-in"),
            ("GET", "/mp/v1/campaigns/{campaign_id}/check-in"),
            ("POST", "/mp/v1/campaigns/{campaign_id}/draw"),
            ("GET", "/mp/v1/campaigns/{campaign_id}/draws"),
            ("GET", "/mp/v1/campaigns/{campaign_id}/rewards"),
            ("POST", "/mp/v1/campaigns/{campaign_id}/remind-me"),
        )
    },
}

# List routes whose answer may change when another party's world appears, and why.
PUBLIC_LISTS: dict[tuple[str, str], str] = {
    ("GET", "/mp/v1/benefits"): "the shared catalogue: its stock falls when B buys",
    ("GET", "/mp/v1/stores/nearby"): "public directory (needs a position; B's store is 10 km away)",
    ("GET", "/mp/v1/home"): "public home page built from the catalogue and campaigns",
    ("GET", "/mp/v1/campaigns"): "platform campaigns",
    ("GET", "/mp/v1/bills/billers"): "the shared biller list",
    ("GET", "/ops/v1/branches"): "every grid manager sees the branch map (scoping is on its merchants)",
    ("GET", "/merchant/v1/campaigns"): "platform campaigns a merchant may join",
}


# Required query parameters of list routes (a list that answers 422 tests nothing).
LIST_QUERIES: dict[str, dict[str, Any]] = {"/mp/v1/bills/vouchers": {"amount": 100_000}}


@dataclass
class Party:
    """One side's credentials and the ids of what it owns."""

    owner: dict[str, str] = field(default_factory=dict)
    member: dict[str, str] = field(default_factory=dict)
    manager: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


def _audience_routes() -> list[tuple[str, str, APIRoute]]:
    """(method, full path, route) of every mounted API route."""
    found = []
    for mount in mounts():
        for route in mount.router.routes:
            if isinstance(route, APIRoute):
                for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                    found.append((method, mount.prefix + route.path, route))
    return found


def _grid_manager_may_call(route: APIRoute) -> bool:
    allowed = getattr(route.endpoint, ROLES_ATTR, frozenset())
    return "grid_manager" in allowed or "*" in allowed


def _checked(method: str, path: str, route: APIRoute) -> bool:
    """The id-bearing routes of the three audiences a party can be refused on."""
    if not _PARAM.search(path) or (method, path) in ALLOWED:
        return False
    if path.startswith("/ops/v1/"):
        return _grid_manager_may_call(route)  # the grid-scoped part of ops
    return path.startswith(("/merchant/v1/", "/mp/v1/"))


def _example_body(method: str, path: str) -> Any:
    """The route's documented JSON body example: validation passes, so the scope is what is tested."""
    document = current_openapi()
    operation = document["paths"][path][method.lower()]
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    ref = content["schema"].get("$ref", "")
    schema = document["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    return schema.get("example") or content.get("example") or {}


async def _party(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    biller_id: int,
    benefit_id: int,
    where: tuple[float, float],
) -> Party:
    party = Party()
    party.manager = await login_operator(client, "grid_manager")
    grid = await create_branch(client, party.manager, *where)
    party.owner, merchant, store = await active_merchant(client, admin, lat=where[0], lng=where[1])
    party.ids |= {"grid_id": grid, "branch_id": grid, "merchant_id": merchant, "store_id": store}

    staff = await client.post(
        "/merchant/v1/staff",
        json={"name": "Li Lei", "phone": next_phone(), "role": "cashier", "password": "initial-passphrase"},
        headers=party.owner,
    )
    assert staff.status_code == 201, staff.text
    change = await client.patch(
        "/merchant/v1/application", json={"legal_rep_name": "New"}, headers=party.owner
    )
    assert change.status_code == 200, change.text
    proposal = await client.post(
        "/merchant/v1/benefits",
        json={
            "name": "Free cookie",
            "kind": "gift",
            "face_value_fen": 800,
            "price_points": 150,
            "valid_days": 14,
        },
        headers=party.owner,
    )
    assert proposal.status_code == 201, proposal.text
    party.ids |= {
        "staff_id": int(staff.json()["id"]),
        "change_id": int(change.json()["pending_change"]["id"]),
        "benefit_id": int(proposal.json()["id"]),  # unpublished: no member or other merchant may see it
    }

    party.member = await login_member(client)
    joined = await client.post("/mp/v1/me/join", json={"share_profile": True}, headers=party.member)
    assert joined.status_code == 200, joined.text
    sale = await client.post(
        "/merchant/v1/sales",
        json={"member_code": await member_code(client, party.member), "amount_fen": 60_000},
        headers=party.owner,
    )
    assert sale.status_code == 201, sale.text
    payment = await client.post(
        "/merchant/v1/points-payments",
        json={"member_code": await member_code(client, party.member), "points": 10},
        headers=party.owner,
    )
    assert payment.status_code == 201, payment.text
    voucher = await client.post(f"/mp/v1/benefits/{benefit_id}/redeem", headers=party.member)
    assert voucher.status_code == 201, voucher.text
    voucher_id = int(voucher.json()["id"])
    redemption = await client.post(
        "/merchant/v1/redemptions",
        json={"token": await token_for(client, party.member, voucher_id), "bill_amount_fen": 2800},
        headers=party.owner,
    )
    assert redemption.status_code == 201, redemption.text
    account_no = f"31{next_phone()[3:]}"
    account = await client.post(
        "/mp/v1/bills/accounts",
        json={"biller_id": biller_id, "account_no": account_no, "nickname": "家里电费"},
        headers=party.member,
    )
    assert account.status_code == 201, account.text
    order = await create_order(client, party.member, biller_id, account_no)
    assert order.status_code == 201, order.text
    member_id = int((await client.get("/mp/v1/me", headers=party.member)).json()["id"])
    refund = {"biller": "Power", "reason": "declined.", "amount": "¥1.00"}
    message = await messages.send(member_id, MessageKind.BILL_REFUNDED, refund, f"isolation:{member_id}")
    assert message.sent_at is not None
    party.ids |= {
        "message_id": message.id,
        "sale_id": int(sale.json()["id"]),
        "payment_id": int(payment.json()["id"]),
        "voucher_id": voucher_id,
        "redemption_id": int(redemption.json()["id"]),
        "account_id": int(account.json()["id"]),
        "order_id": int(order.json()["id"]),
    }
    return party


async def _shared(client: httpx.AsyncClient) -> tuple[dict[str, str], int, int]:
    admin = await login_operator(client)
    biller = await make_biller(client, admin)
    benefit = await published_benefit(client, stock_total=100)
    return admin, int(biller["id"]), benefit


def _caller(path: str, party: Party) -> dict[str, str]:
    if path.startswith("/ops/"):
        return party.manager
    return party.member if path.startswith("/mp/") else party.owner


async def _snapshot(client: httpx.AsyncClient, party: Party) -> dict[tuple[str, str], tuple[int, str]]:
    """Every parameterless GET route's answer to this party (public lists excepted)."""
    answers = {}
    for method, path, route in _audience_routes():
        if method != "GET" or _PARAM.search(path) or (method, path) in PUBLIC_LISTS:
            continue
        if path.startswith("/ops/") and not _grid_manager_may_call(route):
            continue
        response = await client.get(path, params=LIST_QUERIES.get(path), headers=_caller(path, party))
        assert response.status_code != 422, f"{path}: add its required query to LIST_QUERIES"
        answers[(method, path)] = (response.status_code, response.text)
    return answers


async def test_another_partys_ids_are_not_found_on_every_id_bearing_route(client: httpx.AsyncClient) -> None:
    admin, biller_id, benefit_id = await _shared(client)
    a = await _party(client, admin, biller_id, benefit_id, CENTRE)
    b = await _party(client, admin, biller_id, benefit_id, FAR)
    await settlement.build_day(business_day())
    statements = (await client.get("/merchant/v1/settlement/statements", headers=b.owner)).json()["items"]
    b.ids["statement_id"] = int(statements[0]["id"])
    mine = (await client.get("/merchant/v1/settlement/statements", headers=a.owner)).json()["items"]
    a.ids["statement_id"] = int(mine[0]["id"])
    audit_before = await AuditEntry.all().count()

    wrong: dict[str, str] = {}
    checked = 0
    for method, path, route in _audience_routes():
        if not _checked(method, path, route):
            continue
        params = _PARAM.findall(path)
        missing = [p for p in params if p not in b.ids]
        assert not missing, f"{method} {path}: no ids for {missing}; add them to _party"
        body = _example_body(method, path)
        for theirs in params:
            url = path
            for name in params:
                url = url.replace(f"{{{name}}}", str((b if name == theirs else a).ids[name]))
            response = await client.request(method, url, json=body, headers=_caller(path, a))
            checked += 1
            if response.status_code != 404:
                wrong[f"{method} {url} ({theirs} is B's)"] = f"{response.status_code} {response.text[:200]}"
    assert checked > 40, checked  # the walk really reached the three audiences
    assert wrong == {}, "\n".join(f"{k}: {v}" for k, v in wrong.items())
    assert await AuditEntry.all().count() == audit_before  # nothing was done on B's behalf


async def test_another_partys_rows_never_reach_a_list(client: httpx.AsyncClient) -> None:
    admin, biller_id, benefit_id = await _shared(client)
    a = await _party(client, admin, biller_id, benefit_id, CENTRE)
    before = await _snapshot(client, a)
    assert len(before) > 20, len(before)

    await _party(client, admin, biller_id, benefit_id, FAR)
    after = await _snapshot(client, a)

    changed = {
        f"{m} {p}": (before[(m, p)], after[(m, p)]) for m, p in before if before[(m, p)] != after[(m, p)]
    }
    assert changed == {}
