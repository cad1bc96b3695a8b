"""Property-based tests: credit code check characters and the merchant lifecycle state machine."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import AuditEntry
from merchants.models import Merchant, MerchantStatus
from merchants.validation import CREDIT_CODE_ALPHABET, credit_code_check_char, credit_code_problem
from tests.helpers import login_operator
from tests.merchants_support import create_branch, draft_merchant

_body17 = st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=17, max_size=17)


@given(_body17, st.integers(min_value=0, max_value=17), st.sampled_from(CREDIT_CODE_ALPHABET))
def test_any_single_character_change_breaks_the_check(body: str, position: int, replacement: str) -> None:
    code = body + credit_code_check_char(body)
    assert credit_code_problem(code) is None
    changed = code[:position] + replacement + code[position + 1 :]
    assert (credit_code_problem(changed) is None) == (changed == code)


@given(_body17, st.sampled_from("IOZSV"), st.integers(min_value=0, max_value=17))
def test_letters_outside_the_alphabet_are_refused(body: str, letter: str, position: int) -> None:
    code = body + credit_code_check_char(body)
    assert "not allowed" in (credit_code_problem(code[:position] + letter + code[position + 1 :]) or "")


# The lifecycle: which action moves which status where (anything else is 409 invalid_transition).
MOVES = {
    ("submit", MerchantStatus.DRAFT): MerchantStatus.SUBMITTED,
    ("submit", MerchantStatus.REJECTED): MerchantStatus.SUBMITTED,
    ("approve", MerchantStatus.SUBMITTED): MerchantStatus.ACTIVE,
    ("reject", MerchantStatus.SUBMITTED): MerchantStatus.REJECTED,
    ("suspend", MerchantStatus.ACTIVE): MerchantStatus.SUSPENDED,
    ("reactivate", MerchantStatus.SUSPENDED): MerchantStatus.ACTIVE,
}
ACTIONS = sorted({action for action, _ in MOVES})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=8))
async def test_lifecycle_follows_the_model_and_audits_every_move(
    client: httpx.AsyncClient, actions: list[str]
) -> None:
    admin = await login_operator(client)
    await create_branch(client, admin)
    _, merchant_id = await draft_merchant(client)
    status = MerchantStatus.DRAFT
    audited = await AuditEntry.filter(target_type="merchant", target_id=str(merchant_id)).count()
    for action in actions:
        body = {"reason": "because"} if action in ("reject", "suspend", "reactivate") else None
        response = await client.post(f"/ops/v1/merchants/{merchant_id}/{action}", json=body, headers=admin)
        expected = MOVES.get((action, status))
        if expected is None:
            assert response.status_code == 409, (action, status, response.text)
            assert response.json()["code"] == "merchant.invalid_transition"
        else:
            assert response.status_code == 200, (action, status, response.text)
            audited += 2 if action == "approve" else 1  # approve, then activate
            status = expected
        assert (await Merchant.get(id=merchant_id)).status == status
        entries = await AuditEntry.filter(target_type="merchant", target_id=str(merchant_id)).count()
        assert entries == audited
