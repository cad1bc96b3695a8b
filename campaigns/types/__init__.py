"""The campaign types besides flash (multiplier, spend-and-get, check-in, draw, referral) and their payouts:
what other domains call."""

from campaigns.types.checkin import CheckinState, check_in
from campaigns.types.checkin import progress as checkin_progress
from campaigns.types.draw import draw as make_draw
from campaigns.types.draw import my_draws
from campaigns.types.draw import verify as verify_draw
from campaigns.types.payouts import member_payouts
from campaigns.types.referral import accept as accept_referral
from campaigns.types.referral import code_of as referral_code_of
from campaigns.types.referral import invitations, referred_by

__all__ = [
    "CheckinState",
    "accept_referral",
    "check_in",
    "checkin_progress",
    "invitations",
    "make_draw",
    "member_payouts",
    "my_draws",
    "referral_code_of",
    "referred_by",
    "verify_draw",
]
