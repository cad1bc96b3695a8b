"""Who takes part in a campaign and what members see of campaigns: what other domains call."""

from campaigns.audience.showcase import Published, admitted, for_member
from campaigns.audience.visible import get_visible, live_at_merchant, visible_page

__all__ = ["Published", "admitted", "for_member", "get_visible", "live_at_merchant", "visible_page"]
