"""lifecycle: the campaign state machine (the ops console offers the actions a status accepts)."""

from campaigns.lifecycle.table import Action, allowed_actions

__all__ = ["Action", "allowed_actions"]
