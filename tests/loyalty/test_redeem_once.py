"""One voucher, many different valid tokens scanned at once: exactly one redemption.

Each token carries its own nonce, so the unique nonce column cannot stop two of them; only the
conditional `UPDATE … WHERE status = 'active'` in `loyalty/vouchers/redemption.py` can. Every loser
must get a clean 409 `voucher.used` (a 500 means the database's last-resort index caught a double
redemption the code let through). docs/testing.md lists the break this test catches.
"""

from __future__ import annotations

import asyncio

import httpx

from loyalty.models import Voucher, VoucherRedemption
from tests.loyalty.support import active_merchant, assert_ledger_sound, joined_member
from tests.loyalty.test_vouchers import bought_voucher, published_benefit, redeem, token_for

TOKENS = 40  # below the mini-program's 60 tokens a minute per member


async def test_many_distinct_tokens_for_one_voucher_redeem_it_exactly_once(client: httpx.AsyncClient) -> None:
    merchant, merchant_id = await active_merchant(client)
    member, _ = await joined_member(client)
    voucher_id = await bought_voucher(client, merchant, member, await published_benefit(client))
    tokens = [await token_for(client, member, voucher_id) for _ in range(TOKENS)]
    assert len(set(tokens)) == TOKENS

    responses = await asyncio.gather(*(redeem(client, merchant, token) for token in tokens))

    outcomes = [(r.status_code, r.json().get("code")) for r in responses]
    assert outcomes.count((201, None)) == 1, outcomes
    assert sorted(outcomes)[1:] == [(409, "voucher.used")] * (TOKENS - 1), outcomes
    redemptions = await VoucherRedemption.filter(voucher_id=voucher_id)
    assert [(r.merchant_id, r.status) for r in redemptions] == [(merchant_id, "redeemed")]
    assert (await Voucher.get(id=voucher_id)).status == "used"
    await assert_ledger_sound()
