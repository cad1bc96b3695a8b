"""Customer discovery of stores: what other domains call (nearby search, a store's public page, scanning
its code)."""

from merchants.discovery.index import NearbyHit, SearchReach, nearby, summaries
from merchants.discovery.public import scan, store_detail

__all__ = ["NearbyHit", "SearchReach", "nearby", "scan", "store_detail", "summaries"]
