"""The till: sales and points payments, the member code and voucher tokens shown at it, merchants' terms."""

from loyalty.till.codes import issue_member_code, issue_voucher_token
from loyalty.till.sales import SaleMultiplier, boosted_sales, sale_multiplier

__all__ = ["SaleMultiplier", "boosted_sales", "issue_member_code", "issue_voucher_token", "sale_multiplier"]
