"""What customers see of stores: public profiles (no personal data), distances, scanned codes."""

from __future__ import annotations

from merchants.discovery import qr
from merchants.discovery.index import is_visible, summary_of
from merchants.errors import StoreNotFound
from merchants.models import Merchant, Store
from merchants.schemas import StoreDetailOut
from merchants.validation import haversine_m


def detail_of(store: Store, merchant: Merchant, lat: float | None, lng: float | None) -> StoreDetailOut:
    """A visible store's public profile, with the distance from a point when one is given."""
    assert store.lat is not None and store.lng is not None
    distance = (
        round(haversine_m(lat, lng, store.lat, store.lng)) if lat is not None and lng is not None else None
    )
    return StoreDetailOut(
        **summary_of(store, merchant),
        distance_m=distance,
        description=store.description,
        photos=list(store.photos),
    )


async def store_detail(store_id: int, lat: float | None, lng: float | None) -> StoreDetailOut:
    """A store customers may see (404 for stores of merchants that are not active)."""
    store = await Store.get_or_none(id=store_id).select_related("merchant")
    if store is None or not is_visible(store.merchant, store):
        raise StoreNotFound("store not found")
    return detail_of(store, store.merchant, lat, lng)


async def scan(payload: str, lat: float | None = None, lng: float | None = None) -> StoreDetailOut:
    """Resolve a scanned store code to the store's public profile."""
    store, merchant = await qr.resolve_store_code(payload)
    return detail_of(store, merchant, lat, lng)
