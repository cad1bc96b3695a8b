"""Branches and their community grids: what other domains call (the grid covering a place, merchants'
activity, figures on the grid dashboard)."""

from merchants.grids.activity import ACTIVITY_RESOLUTION, recently_active, record_activity
from merchants.grids.service import (
    MetricProvider,
    check_merchant_in_scope,
    covering_grid,
    register_metric_provider,
)

__all__ = [
    "ACTIVITY_RESOLUTION",
    "MetricProvider",
    "check_merchant_in_scope",
    "covering_grid",
    "recently_active",
    "record_activity",
    "register_metric_provider",
]
