"""Customer discovery of stores: what other domains call (nearby search, a store's public page, scanning
its code)."""

from merchants.discovery.index import NearbyHit, SearchReach, nearby, rebuild_index, summaries
from merchants.discovery.public import scan, store_detail

__all__ = ["NearbyHit", "SearchReach", "nearby", "rebuild_index", "scan", "store_detail", "summaries"]
