"""Targeting: tags (imported by ops, automatic `new` and `dormant`), tiers, and segment queries."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.expressions import Subquery

from app.core import audit, sql
from app.core.auth.tokens import Principal
from app.core.config import get_settings
from app.core.crypto import lookup_hash
from app.core.db import transaction
from app.core.errors import InvalidField
from app.core.inputs import MAX_INT64
from app.core.timeutil import business_day, utcnow
from loyalty import hooks
from loyalty.ledger import tiers as tier_rules
from loyalty.models import DailyRun, Member, MemberTag, PointsLot, Tier
from merchants.models import Branch

TAG_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
AUTOMATIC_TAGS = frozenset({"new", "dormant"})
IMPORT_MAX_ROWS = 200_000
IMPORT_BATCH = 1000
REPORTED_ERRORS = 20
RUN_NAME = "auto_tags"
_TAG = re.compile(TAG_PATTERN)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Segments:
    """What campaigns target a member by."""

    tier: Tier
    tags: frozenset[str]


@dataclass
class ImportReport:
    """The outcome of a tag import."""

    tag: str
    rows: int = 0
    tagged: int = 0
    already_tagged: int = 0
    unknown: int = 0
    home_grids_set: int = 0
    errors: list[str] = field(default_factory=list)


def check_tag(tag: str, field_name: str = "tag") -> str:
    """A tag name ops may import (lowercase slug, not an automatic tag)."""
    if not _TAG.match(tag):
        raise InvalidField(field_name, "lowercase letters, digits and _ , starting with a letter, at most 32")
    if tag in AUTOMATIC_TAGS:
        raise InvalidField(field_name, f"`{tag}` is kept automatically and cannot be imported")
    return tag


def _member_key(row: dict[str, str]) -> tuple[str, str] | None:
    """Which column identifies the member on this row: member_id, phone_hash or phone."""
    for column in ("member_id", "phone_hash", "phone"):
        value = (row.get(column) or "").strip()
        if value:
            return column, value
    return None


async def _resolve(keys: list[tuple[int, str, str]], report: ImportReport) -> dict[int, int]:
    """Line number → member id for the rows whose member exists."""
    by_id = {line: int(value) for line, column, value in keys if column == "member_id"}
    by_hash = {
        line: value if column == "phone_hash" else lookup_hash(value)
        for line, column, value in keys
        if column != "member_id"
    }
    found: dict[int, int] = {}
    if by_id:
        existing = {int(r["id"]) for r in await Member.filter(id__in=set(by_id.values())).values("id")}
        found |= {line: member_id for line, member_id in by_id.items() if member_id in existing}
    if by_hash:
        owners = {
            row["phone_hash"]: int(row["id"])
            for row in await Member.filter(phone_hash__in=set(by_hash.values())).values("id", "phone_hash")
        }
        found |= {line: owners[h] for line, h in by_hash.items() if h in owners}
    report.unknown += len(keys) - len(found)
    return found


async def import_tags(operator: Principal, tag: str, content: bytes) -> ImportReport:
    """Tag the members listed in a CSV (`member_id`, `phone_hash` or `phone` column); audited."""
    check_tag(tag)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidField("file", "must be UTF-8 CSV") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip() for c in reader.fieldnames or []}
    if not columns & {"member_id", "phone_hash", "phone"}:
        raise InvalidField("file", "needs a header with a member_id, phone_hash or phone column")
    report = ImportReport(tag=tag)
    keys: list[tuple[int, str, str]] = []
    grids: dict[int, int] = {}  # line -> home grid, from an optional grid_id column (the customer's branch)
    try:
        rows = list(enumerate(reader, start=2))
    except csv.Error as exc:  # a field over the csv module's limit, a malformed quote
        raise InvalidField("file", f"not a readable CSV: {exc}") from None
    for line, raw in rows:
        row = {(k or "").strip(): (v or "") for k, v in raw.items()}
        report.rows += 1
        if report.rows > IMPORT_MAX_ROWS:
            raise InvalidField("file", f"at most {IMPORT_MAX_ROWS} rows per import")
        key = _member_key(row)
        problem = None
        if key is None:
            problem = "no member_id, phone_hash or phone"
        elif key[0] == "member_id" and not _DIGITS.fullmatch(key[1]):
            problem = "member_id is not a number"
        elif key[0] == "member_id" and not (len(key[1]) <= 19 and 1 <= int(key[1]) <= MAX_INT64):
            problem = "member_id is out of range (1 to 2**63-1)"
        elif key[0] == "phone" and not _MOBILE.match(key[1]):
            problem = "phone is not a mainland mobile number"
        elif key[0] == "phone_hash" and not re.fullmatch(r"[0-9a-f]{64}", key[1]):
            problem = "phone_hash is not a lookup hash"
        grid = (row.get("grid_id") or "").strip()
        if not problem and grid:
            if not (_DIGITS.fullmatch(grid) and len(grid) <= 19 and 1 <= int(grid) <= MAX_INT64):
                problem = "grid_id is not a grid id"
            else:
                grids[line] = int(grid)
        if problem:
            if len(report.errors) < REPORTED_ERRORS:
                report.errors.append(f"line {line}: {problem}")
            report.unknown += 1
            continue
        assert key is not None
        keys.append((line, *key))
    named = Branch.filter(id__in=set(grids.values())).values_list("id", flat=True)
    known_grids = {int(i) for i in await sql.column(named)} if grids else set()
    for line, grid in grids.items():
        if grid not in known_grids and len(report.errors) < REPORTED_ERRORS:
            report.errors.append(f"line {line}: grid {grid} does not exist (home grid left unchanged)")
    async with transaction():
        for start in range(0, len(keys), IMPORT_BATCH):
            resolved = await _resolve(keys[start : start + IMPORT_BATCH], report)
            members = set(resolved.values())
            by_grid: dict[int, set[int]] = {}
            for line, member_id in resolved.items():
                if grids.get(line) in known_grids:
                    by_grid.setdefault(grids[line], set()).add(member_id)
            for grid, grid_members in by_grid.items():
                report.home_grids_set += await Member.filter(id__in=grid_members).update(home_grid_id=grid)
            tagged = {
                int(r["member_id"])
                for r in await MemberTag.filter(tag=tag, member_id__in=members).values("member_id")
            }
            report.already_tagged += len(tagged)
            fresh = members - tagged
            await MemberTag.bulk_create([MemberTag(member_id=m, tag=tag, source="import") for m in fresh])
            report.tagged += len(fresh)
        await audit.record(
            operator,
            "member.tags.import",
            "tag",
            tag,
            after={
                "rows": report.rows,
                "tagged": report.tagged,
                "unknown": report.unknown,
                "home_grids_set": report.home_grids_set,
            },
        )
        if report.tagged or report.home_grids_set:
            await hooks.segments_changed(None)
    return report


async def remove_tag(operator: Principal, tag: str) -> int:
    """Take an imported tag off every member; audited."""
    check_tag(tag)
    async with transaction():
        removed = await MemberTag.filter(tag=tag).delete()
        await audit.record(operator, "member.tags.remove", "tag", tag, after={"removed": removed})
        if removed:
            await hooks.segments_changed(None)
    return removed


async def tag_counts() -> list[tuple[str, int]]:
    """Every tag with its number of members."""
    rows = await sql.rows("SELECT tag, COUNT(*) AS members FROM loyalty_member_tag GROUP BY tag ORDER BY tag")
    return [(str(r["tag"]), int(r["members"])) for r in rows]


# (tag, add the members who qualify, remove the ones who no longer do); $1 is the cut-off instant.
_AUTOMATIC = [
    (
        "new",
        """
        INSERT INTO loyalty_member_tag (member_id, tag, source, created_at)
        SELECT m.id, 'new', 'auto', $2 FROM loyalty_member m
        WHERE m.joined_at >= $1
          AND NOT EXISTS (SELECT 1 FROM loyalty_member_tag t WHERE t.member_id = m.id AND t.tag = 'new')
        RETURNING id
        """,
        """
        DELETE FROM loyalty_member_tag WHERE tag = 'new'
          AND member_id IN (SELECT m.id FROM loyalty_member m WHERE NOT (m.joined_at >= $1))
        RETURNING id
        """,
    ),
    (
        "dormant",
        """
        INSERT INTO loyalty_member_tag (member_id, tag, source, created_at)
        SELECT m.id, 'dormant', 'auto', $2 FROM loyalty_member m
        WHERE m.last_active_at < $1
          AND NOT EXISTS (SELECT 1 FROM loyalty_journal j WHERE j.member_id = m.id AND j.created_at >= $1)
          AND NOT EXISTS (SELECT 1 FROM loyalty_member_tag t WHERE t.member_id = m.id AND t.tag = 'dormant')
        RETURNING id
        """,
        """
        DELETE FROM loyalty_member_tag WHERE tag = 'dormant' AND member_id IN (
            SELECT m.id FROM loyalty_member m WHERE m.last_active_at >= $1
            UNION
            SELECT j.member_id FROM loyalty_journal j WHERE j.created_at >= $1 AND j.member_id IS NOT NULL)
        RETURNING id
        """,
    ),
]


async def refresh_automatic_tags(now: datetime | None = None) -> dict[str, int]:
    """Keep `new` (joined in the last LINLI_NEW_MEMBER_DAYS) and `dormant` (inactive) current."""
    now = now or utcnow()
    settings = get_settings()
    since = {
        "new": now - timedelta(days=settings.new_member_days),
        "dormant": now - timedelta(days=settings.dormant_days),
    }
    changed: dict[str, int] = {}
    async with transaction():
        for tag, add, remove in _AUTOMATIC:
            added = await sql.rows(add, since[tag], now)
            removed = await sql.rows(remove, since[tag])
            changed[tag] = len(added) + len(removed)
        if any(changed.values()):
            await hooks.segments_changed(None)
    return changed


async def refresh_dropping_tiers(now: datetime | None = None) -> int:
    """Recompute the tier of members whose earnings of a year ago just left the 12-month window."""
    now = now or utcnow()
    start = tier_rules.window_start(now)
    member_ids = {
        int(row["member_id"])
        for row in await PointsLot.filter(created_at__gt=start - timedelta(days=2), created_at__lte=start)
        .distinct()
        .values("member_id")
    }
    changed = [member_id for member_id in member_ids if await tier_rules.refresh(member_id, now)]
    if changed:
        await hooks.segments_changed(None)
    return len(member_ids)


async def daily_maintenance(now: datetime | None = None) -> bool:
    """Automatic tags and tier decay, once per business day (False when today's run already happened)."""
    now = now or utcnow()
    today = business_day(now)
    if await DailyRun.exists(name=RUN_NAME, business_day=today):
        return False
    await refresh_automatic_tags(now)
    await refresh_dropping_tiers(now)
    await DailyRun.get_or_create(name=RUN_NAME, business_day=today, defaults={"finished_at": utcnow()})
    return True


async def member_segments(member_id: int) -> Segments:
    """Tier and tags of one member."""
    member = await Member.get_or_none(id=member_id)
    tier = member.tier if member else Tier.REGULAR
    tags = await MemberTag.filter(member_id=member_id).values("tag")
    return Segments(tier=tier, tags=frozenset(str(row["tag"]) for row in tags))


async def members_in_segment(
    *, tiers: Sequence[Tier] = (), tags: Sequence[str] = (), grids: Sequence[int] = (), batch: int = 1000
) -> AsyncIterator[list[int]]:
    """Ids of joined members in any of `tiers` (all when empty) holding every tag and living in any of
    `grids` (anywhere when empty), in id order, batched."""
    after = 0
    while True:
        queryset = Member.filter(id__gt=after, joined_at__isnull=False)
        if tiers:
            queryset = queryset.filter(tier__in=list(tiers))
        if grids:
            queryset = queryset.filter(home_grid_id__in=list(grids))
        for tag in dict.fromkeys(tags):
            queryset = queryset.filter(id__in=Subquery(MemberTag.filter(tag=tag).values("member_id")))
        ids = [int(row["id"]) for row in await queryset.order_by("id").limit(batch).values("id")]
        if not ids:
            return
        yield ids
        after = ids[-1]
