"""Branches and their community grids: what other domains call (the grid covering a place, merchants'
activity, figures on the grid dashboard)."""

from merchants.grids.activity import ACTIVITY_RESOLUTION, recently_active, record_activity
from merchants.grids.service import (
    MetricProvider,
    assign_manager,
    check_merchant_in_scope,
    covering_grid,
    create_branch,
    grid_summary,
    inactive_before,
    managers_of,
    merchant_metrics,
    register_metric_provider,
    unassign_manager,
    update_branch,
)

__all__ = [
    "ACTIVITY_RESOLUTION",
    "MetricProvider",
    "assign_manager",
    "check_merchant_in_scope",
    "covering_grid",
    "create_branch",
    "grid_summary",
    "inactive_before",
    "managers_of",
    "merchant_metrics",
    "recently_active",
    "record_activity",
    "register_metric_provider",
    "unassign_manager",
    "update_branch",
]
