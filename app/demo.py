"""`linli demo`: a small city on whatever database and Redis are configured, to try every scenario.

Three grids, a hundred merchants with stores (active, in the nearby index, each with its QR code), a
thousand members (tiers, tags, points), a benefit catalogue, one campaign of each of the six types (the
flash sale live now), two operators (four eyes) and a simulated electricity biller. Idempotent: each
thing is looked up by its natural key (a name, a code, an openid, a ledger reference) and created only
when missing, so a second run adds nothing. Campaigns, benefits and the biller go through the same API
routes as an operator's requests (in-process), so every rule and audit record applies; the bulk rows
(merchants, stores, members) are written directly, as `loadtests/seed_stores.py` does.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from app.core.auth import operators
from app.core.auth.deps import OperatorRole
from app.core.auth.identity import DevIdentityProvider
from app.core.config import Settings
from app.core.models import Operator
from app.core.sql import column
from app.core.timeutil import utcnow
from app.main import create_app
from campaigns.models import Campaign, CampaignStatus
from loyalty import ledger as loyalty_ledger
from loyalty.models import Benefit, Member, MemberTag, PointsAccount
from merchants.discovery import rebuild_index
from merchants.models import Branch, Category, Merchant, MerchantStatus, Store
from merchants.validation import credit_code_check_char
from miniprogram_api.billpay.models import Biller

PASSWORD = "linli-demo-2026"  # noqa: S105 - development only: `linli demo` refuses to run in production
AUTHOR, APPROVER = "demo-admin", "demo-approver"
MERCHANTS, MEMBERS = 100, 1000
GRIDS = (  # name, address, GCJ-02 coordinates, radius in metres
    ("静安寺网格", "上海市静安区南京西路1699号", 31.2235, 121.4453, 1500),
    ("陆家嘴网格", "上海市浦东新区陆家嘴环路1000号", 31.2397, 121.4998, 1500),
    ("徐家汇网格", "上海市徐汇区漕溪北路88号", 31.1956, 121.4368, 1500),
)
SHOPS = ("邻里咖啡", "巷口面馆", "社区便利店", "鲜果铺", "街角烘焙", "小区洗衣", "花语花店", "健身小站")
TAGS = ("payroll", "new_parent", "pet_owner", "student")


@dataclass
class Seeded:
    """What this run created (0 everywhere on a second run) and what it found."""

    created: dict[str, int] = field(default_factory=dict)
    flash_campaign_id: int | None = None

    def add(self, what: str, n: int = 1) -> None:
        """Count `n` new `what`."""
        self.created[what] = self.created.get(what, 0) + n


def _progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = math.floor(width * done / total) if total else width
    sys.stderr.write(f"\r{label:<12} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


async def _operators(seeded: Seeded) -> None:
    for username, roles in ((AUTHOR, [OperatorRole.ADMIN]), (APPROVER, [OperatorRole.ADMIN])):
        if not await Operator.exists(username=username):
            await operators.create_operator(None, username, PASSWORD, roles, display_name=username)
            seeded.add("operators")


async def _login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await client.post("/ops/v1/auth/login", json={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def _call(client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str], **kw: Any) -> Any:
    answer = await client.request(method, url, headers=headers, **kw)
    if answer.status_code >= 300:
        raise RuntimeError(f"{method} {url}: {answer.status_code} {answer.text}")
    return answer.json()


async def _grids(client: httpx.AsyncClient, admin: dict[str, str], seeded: Seeded) -> list[Branch]:
    for name, address, lat, lng, radius in GRIDS:
        if not await Branch.exists(name=name):
            body = {"name": name, "address": address, "lat": lat, "lng": lng, "radius_m": radius}
            await _call(client, "POST", "/ops/v1/branches", admin, json=body)
            seeded.add("grids")
    return [await Branch.get(name=name) for name, *_ in GRIDS]


def _near(rng: random.Random, branch: Branch) -> tuple[float, float]:
    distance, bearing = branch.radius_m * 0.9 * math.sqrt(rng.random()), rng.random() * 2 * math.pi
    north, east = distance * math.cos(bearing), distance * math.sin(bearing)
    return branch.lat + north / 111_320, branch.lng + east / (111_320 * math.cos(math.radians(branch.lat)))


async def _merchants(branches: list[Branch], seeded: Seeded, progress: Callable[..., None]) -> None:
    rng, now, categories = random.Random(2026), utcnow(), list(Category)
    for n in range(1, MERCHANTS + 1):
        first17 = f"91310000MA{n:07d}"
        code = first17 + credit_code_check_char(first17)
        branch = branches[n % len(branches)]
        lat, lng = _near(rng, branch)  # drawn for every n, so a second run places nothing differently
        if not await Merchant.exists(credit_code=code):
            shop = SHOPS[n % len(SHOPS)]
            merchant = await Merchant.create(
                name=f"{shop}（{branch.name[:-2]}{n}号店）",
                status=MerchantStatus.ACTIVE,
                credit_code=code,
                category=categories[n % len(categories)],
                grid_id=branch.id,
                approved_at=now,
                last_activity_at=now,
            )
            await Store.create(
                merchant_id=merchant.id,
                name=merchant.name,
                address=f"{branch.name[:-2]}社区{n}号",
                lat=lat,
                lng=lng,
                hours="08:00-21:00",
                photos=[],
                qr_version=1,
            )
            seeded.add("merchants")
        progress("merchants", n, MERCHANTS)


def _openid(n: int) -> str:
    """The openid `dev:demo-<n>` logs in as (the development identity provider's rule)."""
    return f"dev_{hashlib.sha256(f'demo-{n}'.encode()).hexdigest()[:24]}"


async def _members(seeded: Seeded, progress: Callable[..., None]) -> None:
    assert _openid(1) == (await DevIdentityProvider().code_to_session("dev:demo-1")).openid
    rng, now = random.Random(7), utcnow()
    existing = set(await column(Member.filter(openid__startswith="dev_").values_list("openid", flat=True)))
    for n in range(1, MEMBERS + 1):
        openid = _openid(n)
        points = rng.randrange(0, 3000)
        tier = loyalty_ledger.tier_for(points)  # what the points earned in the trailing year make them
        if openid not in existing:
            member = await Member.create(
                openid=openid,
                nickname=f"居民{n}",
                tier=tier,
                joined_at=now,
                share_profile=True,
                marketing=n % 3 == 0,
            )
            await PointsAccount.create(member_id=member.id, balance=0)
            tags = [tag for i, tag in enumerate(TAGS) if n % (i + 2) == 0]
            await MemberTag.bulk_create(
                [MemberTag(member_id=member.id, tag=tag, source="import") for tag in tags]
            )
            if points:
                await loyalty_ledger.earn_points(
                    member.id,
                    points,
                    source=loyalty_ledger.EarnSource.CAMPAIGN,
                    reference=f"demo:welcome:{n}",
                )
            seeded.add("members")
        if n % 50 == 0 or n == MEMBERS:
            progress("members", n, MEMBERS)


BENEFITS: tuple[dict[str, Any], ...] = (
    {
        "name": "邻里咖啡 ¥5 代金券",
        "kind": "cash",
        "face_value_fen": 500,
        "min_spend_fen": 1500,
        "eligibility": "all",
        "valid_days": 30,
        "stock_total": 10_000,
        "per_member_limit": 5,
        "price_points": 300,
    },
    {
        "name": "缴费立减 ¥2",
        "kind": "cash",
        "face_value_fen": 200,
        "min_spend_fen": 5000,
        "eligibility": "bill_payment",
        "valid_days": 30,
        "stock_total": 10_000,
        "per_member_limit": 3,
        "price_points": 100,
    },
)


async def _benefits(client: httpx.AsyncClient, admin: dict[str, str], seeded: Seeded) -> int:
    for body in BENEFITS:
        if not await Benefit.exists(name=body["name"]):
            created = await _call(client, "POST", "/ops/v1/benefits", admin, json=body)
            await _call(client, "POST", f"/ops/v1/benefits/{created['id']}/lifecycle/publish", admin)
            seeded.add("benefits")
    return int((await Benefit.get(name=BENEFITS[0]["name"])).id)


def _campaigns(benefit_id: int) -> list[dict[str, Any]]:
    issued = {
        "kind": "voucher",
        "title": "¥5 代金券",
        "value_fen": 500,
        "cost_fen": 500,
        "benefit_id": benefit_id,
    }
    now = utcnow()

    def body(
        name: str, config: dict[str, Any], *, days: int = 30, opens_in: int = -1, **extra: Any
    ) -> dict[str, Any]:
        return {
            "name": name,
            "description": "邻里演示活动",
            "starts_at": (now + timedelta(minutes=opens_in)).isoformat(),
            "ends_at": (now + timedelta(days=days)).isoformat(),
            **extra,
            "config": config,
        }

    return [
        body(
            "演示：¥1 抢咖啡",
            {"type": "flash", "stock": 100, "price_fen": 100, "reward": issued},
            days=1,
            per_member_limit=1,
        ),
        body("演示：满 ¥50 送 ¥5", {"type": "spend_and_get", "min_spend_fen": 5000, "reward": issued}),
        body("演示：周末积分翻倍", {"type": "multiplier", "multiplier_percent": 200}),
        body("演示：连续签到 7 天", {"type": "checkin", "streak_days": 7, "reward": issued}),
        body(
            "演示：积分抽奖",
            {
                "type": "lucky_draw",
                "cost_points": 100,
                "prizes": [{"name": "咖啡券", "probability_ppm": 200_000, "stock": 200, "reward": issued}],
            },
            opens_in=2,  # a draw commits its seed before its window opens
        ),
        body("演示：邀请好友", {"type": "referral", "referrer_reward": issued, "referee_reward": issued}),
    ]


async def _live_campaigns(
    client: httpx.AsyncClient,
    author: dict[str, str],
    approver: dict[str, str],
    benefit_id: int,
    seeded: Seeded,
) -> int:
    for body in _campaigns(benefit_id):
        existing = await Campaign.get_or_none(name=body["name"])
        if existing is None:
            created = await _call(client, "POST", "/ops/v1/campaigns", author, json=body)
            seeded.add("campaigns")
            campaign_id, status = int(created["id"]), CampaignStatus.DRAFT
        else:  # an earlier run may have stopped half-way through this campaign's steps
            campaign_id, status = existing.id, CampaignStatus(existing.status)
        if status == CampaignStatus.DRAFT:
            await _call(client, "POST", f"/ops/v1/campaigns/{campaign_id}/submit", author)
            status = CampaignStatus.PENDING_APPROVAL
        if status == CampaignStatus.PENDING_APPROVAL:
            await _call(client, "POST", f"/ops/v1/campaigns/{campaign_id}/approve", approver)
        if body["config"]["type"] == "flash":
            await _call(client, "POST", f"/ops/v1/campaigns/{campaign_id}/preheat", author)
    return int((await Campaign.get(name=_campaigns(benefit_id)[0]["name"])).id)


async def _biller(client: httpx.AsyncClient, admin: dict[str, str], seeded: Seeded) -> None:
    if not await Biller.exists(code="demo-electricity"):
        body = {
            "code": "demo-electricity",
            "type": "electricity",
            "name": "国网上海电力（模拟）",
            "region": "上海市",
            "adapter": "simulated",
            "adapter_config": {},
        }
        await _call(client, "POST", "/ops/v1/billpay/billers", admin, json=body)
        seeded.add("billers")


async def seed_demo(settings: Settings, progress: Callable[..., None] = _progress) -> Seeded:
    """Seed the demo city (database and Redis already open); what was created."""
    if settings.env == "production":
        raise RuntimeError("linli demo seeds known passwords: it does not run in production")
    seeded = Seeded()
    await _operators(seeded)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the in-process calls are not news
    quiet = settings.model_copy(update={"access_log": False})
    app = create_app(quiet, manage_resources=False, fast_lanes=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
        author, approver = await _login(client, AUTHOR), await _login(client, APPROVER)
        branches = await _grids(client, author, seeded)
        await _merchants(branches, seeded, progress)
        await _members(seeded, progress)
        benefit_id = await _benefits(client, author, seeded)
        seeded.flash_campaign_id = await _live_campaigns(client, author, approver, benefit_id, seeded)
        await _biller(client, author, seeded)
    await rebuild_index()
    return seeded


def next_steps(seeded: Seeded, base: str = "http://127.0.0.1:8000") -> str:
    """What to try next, printed after the seed."""
    created = ", ".join(f"{n} {what}" for what, n in seeded.created.items()) or "nothing new (already seeded)"
    return f"""
Linli demo city ready: {created}.

Try it (with `make run` serving {base}):
  API docs            {base}/docs
  ops login           POST {base}/ops/v1/auth/login  {{"username": "{AUTHOR}", "password": "{PASSWORD}"}}
                      (second operator for four eyes: {APPROVER}, same password)
  a member            POST {base}/mp/v1/auth/login   {{"code": "dev:demo-1"}}   (demo-1 … demo-{MEMBERS})
  stores nearby       GET  {base}/mp/v1/stores/nearby?lat=31.2235&lng=121.4453
  home                GET  {base}/mp/v1/home
  the live flash sale POST {base}/mp/v1/campaigns/{seeded.flash_campaign_id}/grab
  pay a bill          POST {base}/mp/v1/bills/lookup  {{"biller_id": …, "account_no": "3100123456"}}
The README's "Try it" section walks the scenarios from here.
"""
