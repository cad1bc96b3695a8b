"""management: what the composition root's ops console calls, the same services `/ops/v1` calls."""

from campaigns.management.analytics import analytics as campaign_analytics
from campaigns.management.service import act as act_on_campaign
from campaigns.management.service import add_audience as add_to_audience
from campaigns.management.service import approve as approve_campaign
from campaigns.management.service import create as create_campaign
from campaigns.management.service import reject as reject_campaign
from campaigns.management.service import remove_audience as remove_from_audience
from campaigns.management.service import submit as submit_campaign
from campaigns.management.service import update as update_campaign

__all__ = [
    "act_on_campaign",
    "add_to_audience",
    "approve_campaign",
    "campaign_analytics",
    "create_campaign",
    "reject_campaign",
    "remove_from_audience",
    "submit_campaign",
    "update_campaign",
]
