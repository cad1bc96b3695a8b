"""Hostile member codes and voucher tokens at the till: 4xx problems, never a 500."""

from __future__ import annotations

import httpx

from tests.loyalty.support import active_merchant, joined_member, member_code


async def test_non_ascii_codes_and_tokens_are_refused_as_invalid(client: httpx.AsyncClient) -> None:
    merchant, _ = await active_merchant(client)
    member, _ = await joined_member(client)
    code = await member_code(client, member)
    forged = code[:-3] + "é€😀"
    cases = [
        ("/merchant/v1/sales", {"member_code": forged, "amount_fen": 1000}, "member_code.invalid"),
        ("/merchant/v1/points-payments", {"member_code": forged, "points": 10}, "member_code.invalid"),
        (
            "/merchant/v1/redemptions",
            {"token": "LV1.1.1.1.n.é", "bill_amount_fen": 100},
            "voucher.token_invalid",
        ),
        ("/merchant/v1/sales", {"member_code": "LM1.1.1.n.签名", "amount_fen": 1000}, "member_code.invalid"),
    ]
    for url, body, problem in cases:
        response = await client.post(url, json=body, headers=merchant)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == problem
    sales = await client.get("/merchant/v1/sales", headers=merchant)
    assert sales.json()["items"] == []
