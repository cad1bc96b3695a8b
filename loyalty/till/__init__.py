"""The till: sales and points payments, the member code and voucher tokens shown at it, merchants' terms."""

from loyalty.till.codes import issue_member_code, issue_voucher_token
from loyalty.till.sales import merchant_terms, sale_points

__all__ = ["issue_member_code", "issue_voucher_token", "merchant_terms", "sale_points"]
