"""management: what the composition root's ops console calls, the same services `/ops/v1` calls."""

from campaigns.management.analytics import analytics as campaign_analytics
from campaigns.management.service import act as act_on_campaign
from campaigns.management.service import approve as approve_campaign
from campaigns.management.service import create as create_campaign
from campaigns.management.service import reject as reject_campaign
from campaigns.management.service import submit as submit_campaign
from campaigns.management.service import update as update_campaign

__all__ = [
    "act_on_campaign",
    "approve_campaign",
    "campaign_analytics",
    "create_campaign",
    "reject_campaign",
    "submit_campaign",
    "update_campaign",
]
