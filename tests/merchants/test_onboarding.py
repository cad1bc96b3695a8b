"""Onboarding: field validation, nothing half-written, lifecycle transitions, races, changes, masking."""

from __future__ import annotations

import asyncio
import io
import logging

import httpx
import pytest

from app.core.models import AuditEntry
from merchants.models import Merchant, MerchantChange, Staff, Store
from merchants.onboarding.storage import MAX_IMAGE_BYTES
from tests.helpers import PASSWORD, bearer, login_operator, next_phone, signup_merchant
from tests.merchants.support import (
    CENTRE,
    LICENCE_PNG,
    active_merchant,
    application,
    create_branch,
    credit_code,
    draft_merchant,
    offset,
)


def _field(response: httpx.Response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"credit_code": credit_code(1)[:17] + ("0" if credit_code(1)[17] != "0" else "1")}, "credit_code"),
        ({"credit_code": "91310000MA1FL8XQ3I"}, "credit_code"),  # I is not in the GB 32100 alphabet
        ({"credit_code": "9131000012345"}, "credit_code"),
        ({"legal_rep_phone": "12800138000"}, "legal_rep_phone"),
        ({"legal_rep_phone": "1380013800"}, "legal_rep_phone"),
        ({"lat": 95.0, "lng": 121.47}, "lat"),
        ({"lat": 31.2, "lng": 200.0}, "lng"),
        ({"lat": 48.85, "lng": 2.35}, "lng"),  # Paris: GCJ-02 exists only in China
        ({"settlement_account": "6222-0202"}, "settlement_account"),
        ({"category": "casino"}, "category"),
        ({"photos": ["not a url"]}, "photos.0"),
    ],
)
async def test_bad_application_field_is_named_and_nothing_is_written(
    client: httpx.AsyncClient, override: dict, field: str
) -> None:
    owner, _ = await signup_merchant(client)
    response = await client.patch("/merchant/v1/application", json=application(**override), headers=owner)
    assert response.status_code == 422, response.text
    assert field in _field(response)
    merchant = await Merchant.get()
    assert merchant.credit_code is None and merchant.legal_rep_phone_enc is None
    assert (await Store.get()).lat is None


async def test_lat_without_lng_is_refused(client: httpx.AsyncClient) -> None:
    owner, _ = await signup_merchant(client)
    response = await client.patch("/merchant/v1/application", json={"lat": 31.2}, headers=owner)
    assert response.status_code == 422


async def test_duplicate_credit_code_names_the_field_and_writes_nothing(client: httpx.AsyncClient) -> None:
    code = credit_code()
    await draft_merchant(client, "First", credit_code=code)
    owner, _ = await signup_merchant(client, "Second")
    response = await client.patch(
        "/merchant/v1/application", json=application(credit_code=code, hours="09:00-18:00"), headers=owner
    )
    assert response.status_code == 409 and response.json()["code"] == "merchant.credit_code_taken"
    assert _field(response) == {"credit_code"}
    second = await Merchant.get(name="Second")
    assert second.credit_code is None
    assert (await Store.get(merchant_id=second.id)).hours == ""


async def test_lowercase_credit_code_is_normalised(client: httpx.AsyncClient) -> None:
    code = "91350100M000100Y43"  # a published example code
    owner, _ = await signup_merchant(client)
    response = await client.patch(
        "/merchant/v1/application", json={"credit_code": code.lower()}, headers=owner
    )
    assert response.status_code == 200 and response.json()["credit_code"] == code


async def test_concurrent_duplicate_credit_codes_one_wins(client: httpx.AsyncClient) -> None:
    code = credit_code()
    owners = [(await signup_merchant(client, f"M{i}"))[0] for i in range(4)]
    responses = await asyncio.gather(
        *(client.patch("/merchant/v1/application", json={"credit_code": code}, headers=o) for o in owners)
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
    assert await Merchant.filter(credit_code=code).count() == 1


async def test_licence_upload_type_and_size(client: httpx.AsyncClient) -> None:
    owner, _ = await signup_merchant(client)
    gif = await client.put(
        "/merchant/v1/application/licence",
        files={"licence": ("l.png", b"GIF89a" + b"\0" * 64, "image/png")},  # lies in its header
        headers=owner,
    )
    assert gif.status_code == 422 and gif.json()["code"] == "upload.unsupported_type"
    assert _field(gif) == {"licence"}
    big = LICENCE_PNG + b"\0" * (MAX_IMAGE_BYTES + 1 - len(LICENCE_PNG))
    oversized = await client.put(
        "/merchant/v1/application/licence",
        files={"licence": ("l.png", io.BytesIO(big), "image/png")},
        headers=owner,
    )
    assert oversized.status_code == 422 and oversized.json()["code"] == "upload.too_large"
    missing = await client.put("/merchant/v1/application/licence", headers=owner)
    assert missing.status_code == 422 and "licence" in _field(missing)
    assert (await Merchant.get()).licence_key is None
    jpeg = await client.put(
        "/merchant/v1/application/licence",
        files={"licence": ("l.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 64, "image/jpeg")},
        headers=owner,
    )
    assert jpeg.status_code == 200
    fetched = await client.get("/merchant/v1/application/licence", headers=owner)
    assert fetched.headers["content-type"] == "image/jpeg"


async def test_submit_requires_every_field(client: httpx.AsyncClient) -> None:
    owner, _ = await signup_merchant(client)
    await client.patch("/merchant/v1/application", json={"category": "retail"}, headers=owner)
    response = await client.post("/merchant/v1/application/submit", headers=owner)
    assert response.status_code == 422 and response.json()["code"] == "merchant.incomplete"
    assert {"credit_code", "legal_rep_phone", "settlement_account", "licence_key", "lat"} <= _field(response)
    assert (await Merchant.get()).status == "draft"


async def test_reject_fix_resubmit_and_illegal_transitions(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    owner, merchant_id = await draft_merchant(client)
    for action in ("approve", "reactivate"):
        body = {"reason": "x"} if action != "approve" else None
        response = await client.post(f"/ops/v1/merchants/{merchant_id}/{action}", json=body, headers=admin)
        assert response.status_code == 409 and response.json()["code"] == "merchant.invalid_transition"
    await client.post("/merchant/v1/application/submit", headers=owner)
    locked = await client.patch("/merchant/v1/application", json={"hours": "24h"}, headers=owner)
    assert locked.status_code == 409 and locked.json()["code"] == "merchant.under_review"
    no_reason = await client.post(
        f"/ops/v1/merchants/{merchant_id}/reject", json={"reason": ""}, headers=admin
    )
    assert no_reason.status_code == 422
    rejected = await client.post(
        f"/ops/v1/merchants/{merchant_id}/reject", json={"reason": "licence photo unreadable"}, headers=admin
    )
    assert rejected.json()["status"] == "rejected"
    seen = (await client.get("/merchant/v1/application", headers=owner)).json()
    assert seen["status"] == "rejected" and seen["status_reason"] == "licence photo unreadable"
    suspend = await client.post(
        f"/ops/v1/merchants/{merchant_id}/suspend", json={"reason": "x"}, headers=admin
    )
    assert suspend.status_code == 409
    await client.put(
        "/merchant/v1/application/licence",
        files={"licence": ("l.png", LICENCE_PNG, "image/png")},
        headers=owner,
    )
    assert (await client.post("/merchant/v1/application/submit", headers=owner)).json()[
        "status"
    ] == "submitted"
    assert (await client.post(f"/ops/v1/merchants/{merchant_id}/approve", headers=admin)).status_code == 200
    again = await client.post("/merchant/v1/application/submit", headers=owner)
    assert again.status_code == 409 and again.json()["current_status"] == "active"
    entry = await AuditEntry.filter(action="merchant.reject").get()
    assert entry.after == {"status": "rejected", "reason": "licence photo unreadable"}
    assert entry.before == {"status": "submitted"}


async def test_concurrent_approvals_only_one_wins(client: httpx.AsyncClient) -> None:
    reviewers = [await login_operator(client) for _ in range(5)]
    await create_branch(client, reviewers[0])
    owner, merchant_id = await draft_merchant(client)
    await client.post("/merchant/v1/application/submit", headers=owner)
    responses = await asyncio.gather(
        *(client.post(f"/ops/v1/merchants/{merchant_id}/approve", headers=r) for r in reviewers),
        client.post(f"/ops/v1/merchants/{merchant_id}/reject", json={"reason": "late"}, headers=reviewers[0]),
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409, 409, 409, 409, 409], [r.text for r in responses]
    decisions = await AuditEntry.filter(action__in=["merchant.approve", "merchant.reject"]).count()
    assert decisions == 1
    assert (await Store.get(merchant_id=merchant_id)).qr_version in (0, 1)


async def test_legal_change_waits_for_review_while_cosmetic_applies_at_once(
    client: httpx.AsyncClient,
) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    owner, merchant_id, _ = await active_merchant(client, admin)
    old = (await client.get("/merchant/v1/application", headers=owner)).json()
    new_code = credit_code()
    response = await client.patch(
        "/merchant/v1/application",
        json={"hours": "24h", "credit_code": new_code, "settlement_account": "6222000011112222333"},
        headers=owner,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active" and body["stores"][0]["hours"] == "24h"
    assert body["credit_code"] == old["credit_code"]
    assert body["settlement_account"] == old["settlement_account"]
    assert body["pending_change"]["fields"]["credit_code"] == new_code
    assert body["pending_change"]["fields"]["settlement_account"] == "6222000011112222333"  # owner sees it
    second = await client.patch("/merchant/v1/application", json={"legal_rep_name": "Li"}, headers=owner)
    assert second.status_code == 409 and second.json()["code"] == "merchant.change_pending"
    ops_view = (await client.get(f"/ops/v1/merchants/{merchant_id}", headers=admin)).json()
    assert ops_view["pending_change"]["fields"]["settlement_account"] == "****2333"
    change_id = body["pending_change"]["id"]
    decided = await client.post(f"/ops/v1/merchants/{merchant_id}/changes/{change_id}/approve", headers=admin)
    assert decided.status_code == 200, decided.text
    assert decided.json()["credit_code"] == new_code and decided.json()["pending_change"] is None
    assert decided.json()["settlement_account"] == "****2333"
    twice = await client.post(f"/ops/v1/merchants/{merchant_id}/changes/{change_id}/approve", headers=admin)
    assert twice.status_code == 409
    rejected = await client.patch("/merchant/v1/application", json={"legal_rep_name": "Li"}, headers=owner)
    change_id = rejected.json()["pending_change"]["id"]
    await client.post(
        f"/ops/v1/merchants/{merchant_id}/changes/{change_id}/reject",
        json={"reason": "no proof"},
        headers=admin,
    )
    assert (await client.get("/merchant/v1/application", headers=owner)).json()[
        "legal_rep_name"
    ] == "Wang Fang"
    history = await client.get(f"/ops/v1/merchants/{merchant_id}/changes", headers=admin)
    assert [c["status"] for c in history.json()["items"]] == ["rejected", "approved"]


async def test_only_the_owner_changes_legal_fields(client: httpx.AsyncClient) -> None:
    owner, _ = await signup_merchant(client)
    phone = next_phone()
    await client.post(
        "/merchant/v1/staff", json={"phone": phone, "role": "manager", "password": PASSWORD}, headers=owner
    )
    login = await client.post("/merchant/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    manager = bearer(login.json()["access_token"])
    denied = await client.patch(
        "/merchant/v1/application", json={"credit_code": credit_code()}, headers=manager
    )
    assert denied.status_code == 403
    allowed = await client.patch("/merchant/v1/application", json={"hours": "9-5"}, headers=manager)
    assert allowed.status_code == 200
    assert (await client.post("/merchant/v1/application/submit", headers=manager)).status_code == 403


async def test_masking_everywhere_but_for_the_owner(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    phone, account = next_phone(), "6222020200112233445"
    caplog.set_level(logging.DEBUG)
    owner, merchant_id = await draft_merchant(client, legal_rep_phone=phone, settlement_account=account)
    own = (await client.get("/merchant/v1/application", headers=owner)).json()
    assert own["legal_rep_phone"] == phone and own["settlement_account"] == account
    cashier_phone = next_phone()
    await client.post(
        "/merchant/v1/staff",
        json={"phone": cashier_phone, "role": "cashier", "password": PASSWORD},
        headers=owner,
    )
    login = await client.post("/merchant/v1/auth/login", json={"phone": cashier_phone, "password": PASSWORD})
    cashier_view = await client.get("/merchant/v1/application", headers=bearer(login.json()["access_token"]))
    ops_view = await client.get(f"/ops/v1/merchants/{merchant_id}", headers=admin)
    for response in (cashier_view, ops_view):
        assert response.json()["legal_rep_phone"] == phone[:3] + "****" + phone[-4:]
        assert response.json()["settlement_account"] == "****3445"
        assert phone not in response.text and account not in response.text
    raw = await Merchant.get(id=merchant_id)
    assert account not in (raw.settlement_account_enc or "") and phone not in (raw.legal_rep_phone_enc or "")
    assert phone not in caplog.text and account not in caplog.text
    audit = await client.get("/ops/v1/audit", headers=admin)
    assert phone not in audit.text and account not in audit.text


async def test_grid_assignment_nearest_covering_branch_or_unassigned(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    west = await create_branch(client, admin, *offset(*CENTRE, east_m=-2000))
    east = await create_branch(client, admin, *offset(*CENTRE, east_m=1500))
    _, near_east = await draft_merchant(client, "A", lat=CENTRE[0], lng=CENTRE[1])
    _, near_west = await draft_merchant(
        client, "B", lat=offset(*CENTRE, east_m=-1500)[0], lng=offset(*CENTRE, east_m=-1500)[1]
    )
    far = offset(*CENTRE, north_m=20_000)
    _, outside = await draft_merchant(client, "C", lat=far[0], lng=far[1])
    grids = {m.id: m.grid_id for m in await Merchant.all()}
    assert grids == {near_east: east, near_west: west, outside: None}
    unassigned = await client.get("/ops/v1/merchants", params={"unassigned": True}, headers=admin)
    assert [m["id"] for m in unassigned.json()["items"]] == [outside]
    # A new branch that covers it adopts the unassigned merchant.
    north = await create_branch(client, admin, *far)
    assert (await Merchant.get(id=outside)).grid_id == north
    # Ops override sticks, and null returns to automatic assignment.
    moved = await client.put(f"/ops/v1/merchants/{near_east}/grid", json={"grid_id": west}, headers=admin)
    assert moved.json()["grid_id"] == west and moved.json()["grid_locked"] is True
    back = await client.put(f"/ops/v1/merchants/{near_east}/grid", json={"grid_id": None}, headers=admin)
    assert back.json()["grid_id"] == east and back.json()["grid_locked"] is False
    manager = await login_operator(client, "grid_manager")
    denied = await client.put(f"/ops/v1/merchants/{near_east}/grid", json={"grid_id": west}, headers=manager)
    assert denied.status_code == 403


async def test_grid_manager_files_an_application_in_their_grid_only(client: httpx.AsyncClient) -> None:
    manager = await login_operator(client, "grid_manager")
    await create_branch(client, manager)
    owner_phone = next_phone()
    body = application() | {"name": "Street Noodles", "owner_phone": owner_phone, "owner_password": PASSWORD}
    filed = await client.post("/ops/v1/merchants", json=body, headers=manager)
    assert filed.status_code == 201, filed.text
    merchant_id = filed.json()["id"]
    assert filed.json()["filed_by_operator_id"] is not None
    submitted = await client.post(f"/ops/v1/merchants/{merchant_id}/submit", headers=manager)
    assert submitted.status_code == 422 and "licence_key" in _field(
        submitted
    )  # the owner uploads the licence
    login = await client.post("/merchant/v1/auth/login", json={"phone": owner_phone, "password": PASSWORD})
    assert login.status_code == 200
    far = offset(*CENTRE, north_m=20_000)
    outside = application(*far) | {
        "name": "Far Away",
        "owner_phone": next_phone(),
        "owner_password": PASSWORD,
    }
    refused = await client.post("/ops/v1/merchants", json=outside, headers=manager)
    assert refused.status_code == 403 and refused.json()["code"] == "grid.not_yours"
    assert await Merchant.filter(name="Far Away").count() == 0
    assert await Staff.filter(merchant__name="Far Away").count() == 0


async def test_pending_change_constraint_holds_in_the_database(client: httpx.AsyncClient) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    owner, merchant_id, _ = await active_merchant(client, admin)
    responses = await asyncio.gather(
        *(
            client.patch("/merchant/v1/application", json={"legal_rep_name": f"Rep {i}"}, headers=owner)
            for i in range(4)
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
    assert await MerchantChange.filter(merchant_id=merchant_id, status="pending").count() == 1


async def test_database_refuses_a_second_pending_change_and_negative_qr_version(
    client: httpx.AsyncClient,
) -> None:
    from tortoise.exceptions import IntegrityError, OperationalError

    _, merchant_id = await draft_merchant(client)
    await MerchantChange.create(merchant_id=merchant_id, fields_={"legal_rep_name": "A"})
    with pytest.raises(IntegrityError):
        await MerchantChange.create(merchant_id=merchant_id, fields_={"legal_rep_name": "B"})
    with pytest.raises((IntegrityError, OperationalError)):
        await Store.filter(merchant_id=merchant_id).update(qr_version=-1)
