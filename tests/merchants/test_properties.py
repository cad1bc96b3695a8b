"""Property-based tests: credit code check characters and the merchant lifecycle state machine."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from app.core.models import AuditEntry
from merchants.models import Merchant, MerchantStatus
from merchants.validation import CREDIT_CODE_ALPHABET, credit_code_check_char, credit_code_problem
from tests.helpers import login_operator
from tests.merchants.support import create_branch, draft_merchant

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


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.floats(-4000, 4000), st.floats(-4000, 4000)), min_size=0, max_size=40),
    st.tuples(st.floats(-3000, 3000), st.floats(-3000, 3000)),
    st.integers(min_value=1, max_value=5000),
    st.integers(min_value=1, max_value=15),
    st.integers(min_value=0, max_value=10),
    st.integers(min_value=1, max_value=8000),
)
@example(places=[(0.0, 0.0)] * 7, probe=(0.0, 0.0), radius_m=1, limit=1, skip=0, first_guess_m=1)
async def test_index_answers_like_the_database(
    client: httpx.AsyncClient,
    places: list[tuple[float, float]],
    probe: tuple[float, float],
    radius_m: int,
    limit: int,
    skip: int,
    first_guess_m: int,
) -> None:
    """Whatever radius the search starts from, the index answers as the database does."""
    import orjson

    from app.core.redis_client import get_redis
    from merchants.discovery import index as discovery
    from merchants.models import Store
    from tests.merchants.support import CENTRE, offset

    await Store.all().delete()
    await Merchant.all().delete()
    for i, (north, east) in enumerate(places):
        lat, lng = offset(*CENTRE, north_m=north, east_m=east)
        merchant = await Merchant.create(name=f"m{i}", status=MerchantStatus.ACTIVE, category="retail")
        await Store.create(merchant=merchant, name=f"s{i}", lat=lat, lng=lng)
    await get_redis().flushdb()
    await discovery.rebuild_index()
    lat, lng = offset(*CENTRE, north_m=probe[0], east_m=probe[1])
    learnt, discovery.reach = discovery.reach, discovery.SearchReach(first_guess_m=first_guess_m)
    try:
        body, shown, more = await discovery.nearby(lat, lng, radius_m, None, skip, limit)
    finally:
        discovery.reach = learnt
    from_index = orjson.loads(body)
    expected = await discovery.nearby_from_database(lat, lng, radius_m, None, skip + limit + 1)
    page = expected[skip : skip + limit]
    # Redis keeps 52-bit geohashes (about half a metre here): a store within a metre or two of the
    # circle's edge may fall on either side of it, so such cases say nothing about the index.
    around = await discovery.nearby_from_database(lat, lng, radius_m + 5, None, len(places) + 1)
    assume(all(abs(h.distance_m - radius_m) >= 2 for h in around))
    assert shown == len(from_index) and more == (len(expected) > skip + limit)
    # Redis keeps 52-bit geohashes (well under a metre): compare distances, and ids where they differ.
    # Stores (nearly) tied at either edge of the page may swap across it: those ids may differ.
    assert [round(item["distance_m"]) for item in from_index] == pytest.approx(
        [round(h.distance_m) for h in page], abs=2
    )
    edges = [page[0].distance_m, page[-1].distance_m] if page else []
    # Ties are judged against every store in the circle: the one the index picks may lie beyond the
    # database's page (seven stores at one spot, a page of one).
    everything = await discovery.nearby_from_database(lat, lng, radius_m, None, len(places) + 1)
    tied_at_edges = {h.store_id for h in everything if any(abs(h.distance_m - d) < 2 for d in edges)}
    assert {i["id"] for i in from_index} ^ {h.store_id for h in page} <= {
        h.store_id for h in expected if abs(h.distance_m - radius_m) < 2
    } | {h.store_id for h in page if page and abs(h.distance_m - page[-1].distance_m) < 2} | tied_at_edges
