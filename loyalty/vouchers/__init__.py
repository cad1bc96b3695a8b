"""Benefits and vouchers: what other domains call to issue, list, redeem on bills and revoke vouchers."""

from loyalty.repository import voucher_of, vouchers_of
from loyalty.vouchers.benefits import benefit_out, catalogue, create_benefit, get_benefit
from loyalty.vouchers.benefits import listing as benefit_listing
from loyalty.vouchers.benefits import transition as benefit_transition
from loyalty.vouchers.bills import (
    BillRedemption,
    VoucherOffer,
    bill_payment_vouchers,
    redeem_voucher_for_bill,
    reverse_voucher_for_bill,
)
from loyalty.vouchers.issuing import (
    BenefitTerms,
    IssuedVoucher,
    IssueOutcome,
    VoucherGrant,
    VoucherTally,
    benefit_terms,
    buy_with_points,
    issue_vouchers,
    member_vouchers_by_reference,
    revoke_voucher,
    voucher_tally,
)
from loyalty.vouchers.rules import check_unused

__all__ = [
    "BenefitTerms",
    "BillRedemption",
    "IssueOutcome",
    "IssuedVoucher",
    "VoucherGrant",
    "VoucherOffer",
    "VoucherTally",
    "benefit_listing",
    "benefit_out",
    "benefit_terms",
    "benefit_transition",
    "bill_payment_vouchers",
    "buy_with_points",
    "catalogue",
    "check_unused",
    "create_benefit",
    "get_benefit",
    "issue_vouchers",
    "member_vouchers_by_reference",
    "redeem_voucher_for_bill",
    "reverse_voucher_for_bill",
    "revoke_voucher",
    "voucher_of",
    "voucher_tally",
    "vouchers_of",
]
