"""Problem `title` and `detail` in Simplified Chinese for clients that ask for it (`Accept-Language: zh-CN`).

One catalogue, keyed by the stable problem `code` (which never changes with the language): the title,
and a detail that may name `{fields}` (the fields listed in `errors`) or `{retry_after}` (seconds, from
`Retry-After`). A code missing from the catalogue gets the Chinese title of its status
(tests/core/test_problem_i18n.py keeps every code the application raises or documents in it). English
stays the default: the code's own title and the raise site's detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EN, ZH_CN = "en", "zh-CN"

# Language ranges served in Simplified Chinese (RFC 4647 prefixes, lower case). zh-TW, zh-HK and
# zh-Hant ask for Traditional Chinese, which we do not have: they get English.
_SIMPLIFIED = ("zh-cn", "zh-sg", "zh-hans")

# code → (title, detail)
CATALOGUE: dict[str, tuple[str, str]] = {
    # Generic problems (app.core.errors) and the HTTP errors FastAPI and Starlette raise.
    "bad_request": ("请求有误", "请求无法处理，请检查后重试"),
    "request.malformed": ("请求格式错误", "请求体不是合法的 JSON，或无法读取"),
    "request.too_large": ("请求过大", "请求体超过了该接口允许的大小"),
    "validation_error": ("输入无效", "以下字段无效：{fields}"),
    "pagination.invalid_cursor": ("分页游标无效", "分页游标格式错误、被篡改或不属于该列表"),
    "not_found": ("未找到", "资源不存在或无权访问"),
    "method_not_allowed": ("方法不被允许", "该接口不支持此 HTTP 方法"),
    "conflict": ("冲突", "请求与当前状态冲突"),
    "rate_limited": ("请求过于频繁", "请求过于频繁，请 {retry_after} 秒后重试"),
    "unavailable": ("服务暂不可用", "服务暂时不可用，请 {retry_after} 秒后重试"),
    "service.unavailable": ("服务暂不可用", "数据库或缓存暂时不可用，请 {retry_after} 秒后重试"),
    "internal": ("内部错误", "服务器发生意外错误"),
    "idempotency.conflict": ("幂等键冲突", "该 Idempotency-Key 已用于另一个不同的请求"),
    "idempotency.in_progress": (
        "请求处理中",
        "使用该 Idempotency-Key 的请求仍在处理，请 {retry_after} 秒后重试",
    ),
    # Authentication and authorisation.
    "auth.unauthorized": ("需要登录", "请先登录"),
    "auth.missing_token": ("需要登录", "缺少 Bearer 访问令牌"),
    "auth.token_invalid": ("令牌无效", "访问令牌或刷新令牌无效"),
    "auth.token_expired": ("令牌已过期", "访问令牌已过期，请刷新"),
    "auth.token_revoked": ("会话已失效", "该会话已退出登录或被撤销"),
    "auth.bad_credentials": ("登录失败", "用户名、手机号或密码错误"),
    "auth.invalid_code": ("登录码无效", "身份提供方拒绝了该登录码"),
    "auth.provider_unavailable": ("身份服务暂不可用", "身份提供方暂时无法访问，请 {retry_after} 秒后重试"),
    "auth.forbidden": ("无权操作", "当前账号无权执行此操作"),
    "console.csrf": ("请求校验失败", "表单已过期或来源不明，请刷新页面后重试"),
    "operator.exists": ("用户名已被占用", "已有运营人员使用该用户名"),
    "operator.last_admin": ("不能移除最后一位管理员", "系统至少需要保留一位在职的管理员"),
    # Merchants, stores, staff and grids.
    "merchant.not_found": ("商户不存在", "商户不存在或不在您的管辖范围内"),
    "merchant.not_active": ("商户未启用", "您的商户尚未在联盟中启用"),
    "merchant.incomplete": ("申请信息不完整", "缺少必填字段：{fields}"),
    "merchant.invalid_transition": ("状态不允许此操作", "商户或申请的当前状态不允许此操作"),
    "merchant.under_review": ("申请审核中", "已提交的申请不能修改"),
    "merchant.credit_code_taken": ("信用代码已被占用", "另一商户已使用该统一社会信用代码"),
    "merchant.change_pending": ("已有待审核的变更", "已有一项法定信息变更正在等待审核"),
    "merchant.change_not_found": ("变更不存在", "该变更申请不存在"),
    "merchant.licence_missing": ("尚未上传营业执照", "尚未上传营业执照"),
    "staff.not_found": ("员工不存在", "您的商户没有该员工"),
    "staff.phone_taken": ("手机号已被占用", "该手机号已有员工账号"),
    "staff.owner_required": ("不能移除店主", "商户必须保留店主账号"),
    "store.not_found": ("门店不存在", "门店不存在或未在平台营业"),
    "store.qr_invalid": ("门店码无效", "这不是本平台签发的门店码"),
    "store.qr_not_issued": ("门店码尚未签发", "商户审核通过后才会签发门店码"),
    "store.qr_revoked": ("门店码已作废", "门店已用新码替换该门店码"),
    "grid.not_found": ("网格不存在", "网格不存在或不属于您"),
    "grid.not_yours": ("无权操作", "该门店不在您负责的网格内"),
    "upload.empty": ("文件为空", "上传的文件为空"),
    "upload.too_large": ("文件过大", "图片超过 5 MB"),
    "upload.unsupported_type": ("文件类型不支持", "仅支持 PNG 或 JPEG 图片"),
    # Members, points, benefits, vouchers, sales and settlement.
    "member.not_found": ("会员不存在", "该会员不存在"),
    "member.not_joined": ("尚未加入联盟", "请先加入商户联盟"),
    "member.phone_taken": ("手机号已被绑定", "该手机号已绑定其他会员"),
    "member.home_grid_locked": ("暂不能更换网格", "常住网格更换过于频繁，请稍后再试"),
    # Messages and broadcasts.
    "message.not_found": ("消息不存在", "该消息不存在"),
    "message.missing_variable": ("模板变量缺失", "消息模板缺少必填变量"),
    "broadcast.not_found": ("群发不存在", "该群发消息不存在"),
    "broadcast.not_draft": ("群发状态不允许", "只有草稿状态的群发可以执行此操作"),
    "broadcast.four_eyes": ("需要另一位操作员审批", "群发的创建者不能审批自己的群发"),
    "wechat.unavailable": ("微信暂时不可用", "微信服务繁忙或限流，请稍后重试"),
    "campaign.already_open": ("活动已开始", "活动已经开始，无需再设置提醒"),
    # Paid flash sales.
    "flash.order_not_found": ("订单不存在", "该秒杀订单不存在"),
    "flash.order_expired": ("订单已过期", "已超过支付时限，名额已释放"),
    "flash.order_cancelled": ("订单已取消", "该订单已取消，名额已释放"),
    "flash.order_paid": ("订单已支付", "该订单已支付，不能取消"),
    "flash.order_not_payable": ("订单无法支付", "该订单已通过其他方式支付"),
    "flash.insufficient_funds": ("余额不足", "银行账户余额不足以支付该订单"),
    "bank.unavailable": ("银行暂时无法响应", "银行未及时响应，支付结果将自动核对，请稍后查看"),
    "member_code.invalid": ("会员码无效", "会员码格式错误或被伪造"),
    "member_code.expired": ("会员码已过期", "会员码已过期，请刷新后重新出示"),
    "member_code.used": ("会员码已使用", "该会员码已完成过一次支付"),
    "points.insufficient": ("积分不足", "积分余额不足，未扣除任何积分"),
    "points.journal_not_found": ("积分流水不存在", "没有该业务编号的积分流水"),
    "points.not_reversible": ("无法冲正", "积分过期和冲正记录不能再冲正"),
    "points.reference_conflict": ("业务编号已被使用", "该业务编号已用于另一笔积分变动"),
    "points_payment.not_found": ("积分支付不存在", "您的商户没有该笔积分支付"),
    "points_payment.reversed": ("积分支付已冲正", "该笔积分支付已冲正"),
    "sale.not_found": ("销售记录不存在", "您的商户没有该笔销售记录"),
    "sale.refunded": ("销售已退款", "该笔销售已退款"),
    "sale.reference_conflict": ("小票号已被使用", "该小票号已用于另一笔销售"),
    "redemption.not_found": ("核销记录不存在", "您的商户没有该笔核销记录"),
    "redemption.reversed": ("核销已撤销", "该笔核销已撤销"),
    "reversal.window_closed": ("已超过撤销时限", "已超过可撤销的时间范围"),
    "benefit.not_found": ("权益不存在", "该权益不存在"),
    "benefit.unavailable": ("权益不可用", "该权益或其商户当前未启用"),
    "benefit.sold_out": ("已抢完", "库存不足"),
    "benefit.limit_reached": ("已达领取上限", "您持有的该权益已达上限"),
    "benefit.invalid_transition": ("状态不允许此操作", "权益的当前状态不允许此操作"),
    "voucher.not_found": ("券不存在", "该券不存在"),
    "voucher.used": ("券已使用", "该券已被使用"),
    "voucher.expired": ("券已过期", "该券已过有效期"),
    "voucher.not_yet_valid": ("券尚未生效", "该券尚未到可用时间"),
    "voucher.revoked": ("券已收回", "该券已被收回（其购买已退款）"),
    "voucher.not_valid_here": ("此处不可用", "该券不能在此使用"),
    "voucher.min_spend_not_met": ("未达最低消费", "金额低于该券的最低消费"),
    "voucher.token_invalid": ("券码无效", "券码格式错误或被伪造"),
    "voucher.token_expired": ("券码已过期", "券码已过期，请刷新后重新出示"),
    "voucher.token_used": ("券码已使用", "该券码已被扫描过"),
    "settlement.not_found": ("结算单不存在", "该结算单不存在"),
    "settlement.invalid_transition": ("状态不允许此操作", "确认需要草稿状态的结算单，支付需要已确认的结算单"),
    # Campaigns.
    "campaign.not_found": ("活动不存在", "活动不存在或不面向您"),
    "campaign.not_running": ("活动未进行", "活动当前未在进行中"),
    "campaign.unavailable": ("活动暂不可用", "活动正在加载，请 {retry_after} 秒后重试"),
    "campaign.invalid_transition": ("状态不允许此操作", "活动的当前状态不允许此操作"),
    "campaign.not_editable": ("活动不可编辑", "进行中、已暂停、已结束或已取消的活动不能编辑"),
    "campaign.version_conflict": ("活动已被修改", "您读取之后活动已被修改，请刷新后重试"),
    "campaign.four_eyes": ("需他人审批", "您创建或最后编辑了该活动，需由他人审批"),
    "campaign.wrong_type": ("活动类型不符", "该活动不是此类型"),
    "campaign.not_flash": ("不是秒杀活动", "只有秒杀活动需要预热"),
    "campaign.limit_reached": ("已达参与上限", "您的参与次数已达上限"),
    "campaign.budget_exhausted": ("活动预算已用完", "活动预算已用完"),
    "campaign.reward_invalid": ("奖励无效", "奖励对应的权益不存在、未启用或库存不足"),
    "campaign.audience_unsupported": ("人群条件不支持", "人群条件包含尚不支持的规则"),
    "campaign.not_blocked": ("会员未被拉黑", "该会员未被拉黑"),
    "referral.code_not_found": ("推荐码不存在", "没有会员使用该推荐码"),
    "referral.no_campaign": ("暂无推荐活动", "当前没有面向您的推荐活动"),
    "referral.not_allowed": ("不能使用该推荐码", "不能使用自己的推荐码、重复接受推荐或非新会员"),
    # Bill payment.
    "bill.account_not_found": ("户号不存在", "缴费单位没有该户号"),
    "bill.account_exists": ("户号已保存", "该户号已保存"),
    "bill.too_many_accounts": ("户号过多", "最多保存 20 个户号"),
    "bill.household_account_not_found": ("户号不存在", "没有该已保存户号"),
    "bill.reminder_not_found": ("提醒不存在", "该户号没有设置提醒"),
    "bill.nothing_due": ("无需缴费", "本期账单已缴清"),
    "bill.amount_mismatch": ("金额不符", "金额与应缴金额不一致（见 amount_due）"),
    "bill.topup_amount_invalid": ("充值金额无效", "该充值金额不在缴费单位支持的范围内"),
    "bill.biller_not_found": ("缴费单位不存在", "缴费单位不存在或未开通"),
    "bill.biller_code_taken": ("缴费单位代码已被占用", "另一缴费单位已使用该代码"),
    "bill.biller_unavailable": ("缴费单位暂不可用", "缴费单位暂时无应答，请 {retry_after} 秒后重试"),
    "bill.bank_unavailable": ("银行暂不可用", "银行暂时无应答，支付结果将自动确认"),
    "bill.insufficient_funds": ("余额不足", "银行账户余额不足以支付总额"),
    "bill.order_not_found": ("缴费订单不存在", "该缴费订单不存在"),
    "bill.order_expired": ("订单已过期", "未支付的订单已过期，请重新下单"),
    "bill.order_not_payable": ("订单不可支付", "该订单当前状态不可支付"),
    "bill.order_not_cancellable": ("订单不可取消", "该订单已开始支付"),
    "bill.order_not_reversible": ("订单不可冲正", "只有缴费成功的订单可以冲正"),
    "bill.payment_in_progress": ("缴费处理中", "该账单有一笔缴费正在确认"),
    "bill.paid_at_biller": ("缴费单位已入账", "缴费单位已收到该笔缴费，请与缴费单位核对处理"),
    "bill.reconciliation_not_found": ("对账差异不存在", "该对账差异不存在"),
    "bill.mismatch_resolved": ("差异已处理", "该对账差异已处理"),
}

# Titles for a code the catalogue does not know, by status.
STATUS_TITLES: dict[int, str] = {
    400: "请求有误",
    401: "需要登录",
    402: "需要付款",
    403: "无权操作",
    404: "未找到",
    405: "方法不被允许",
    409: "冲突",
    410: "已失效",
    413: "请求过大",
    422: "输入无效",
    429: "请求过于频繁",
    500: "内部错误",
    503: "服务暂不可用",
}


def negotiate(accept_language: str | None) -> str:
    """`zh-CN` when the client prefers Simplified Chinese to English, else `en` (the default).

    Reads `Accept-Language` by quality (RFC 9110): the first range we serve wins, and `en` or `*`
    before any Chinese range means English.
    """
    if not accept_language or "zh" not in accept_language.lower():
        return EN
    ranges = []
    for position, item in enumerate(accept_language.lower().split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() and quality > 0:
            ranges.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(ranges):
        if tag == "zh" or tag.startswith(_SIMPLIFIED):
            return ZH_CN
        if tag in ("*", "en") or tag.startswith("en-"):
            return EN
    return EN


def translate(
    language: str | None,
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """The problem's `(title, detail)` in `language` (English or None: as raised)."""
    if language != ZH_CN:
        return title, detail
    entry = CATALOGUE.get(code)
    if entry is None:
        fallback = STATUS_TITLES.get(status, "错误")
        return fallback, fallback
    zh_title, template = entry
    errors = (extra or {}).get("errors") or []
    params = {
        "fields": "、".join(dict.fromkeys(str(e.get("field", "")) for e in errors if e.get("field"))),
        "retry_after": (headers or {}).get("Retry-After", ""),
    }
    try:
        zh_detail = template.format_map(params)
    except (KeyError, IndexError, ValueError):
        return zh_title, zh_title
    if any(f"{{{name}}}" in template and not value for name, value in params.items()):
        return zh_title, zh_title  # the raise site gave no fields or no Retry-After to name
    return zh_title, zh_detail
