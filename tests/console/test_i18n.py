"""Every label the console shows comes from the catalogue: each literal `_("…")` and each symbolic id
(statuses, types, roles) has a zh-CN translation, and the symbolic ids an English label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.console.i18n import catalogue
from app.core.auth.deps import OperatorRole
from app.core.problem_i18n import EN, ZH_CN
from campaigns.models import CampaignStatus, CampaignType
from loyalty.models import StatementStatus
from merchants.models import MerchantStatus

CONSOLE = Path(__file__).resolve().parents[2] / "app" / "console"
LITERAL = re.compile(r"""_\(\s*(?:"([^"]+)"|'([^']+)')\s*\)""")


def literals() -> set[str]:
    """Every message id written literally in a template or console module."""
    found: set[str] = set()
    for path in [*CONSOLE.rglob("*.html"), *CONSOLE.rglob("*.py")]:
        found |= {m.group(1) or m.group(2) for m in LITERAL.finditer(path.read_text())}
    return found


SYMBOLIC = (
    [f"status.{s.value}" for s in MerchantStatus]
    + [f"campaign.{s.value}" for s in CampaignStatus]
    + [f"type.{t.value}" for t in CampaignType]
    + [f"statement.{s.value}" for s in StatementStatus]
    + [f"role.{r.value}" for r in OperatorRole]
    + [f"reward.{k}" for k in ("voucher", "points", "gift")]
)


def test_every_literal_label_is_translated() -> None:
    found = literals()
    assert len(found) > 80
    assert sorted(found - catalogue(ZH_CN).keys()) == []


@pytest.mark.parametrize("language", [ZH_CN, EN])
def test_every_symbolic_label_is_in_each_language(language: str) -> None:
    table = catalogue(language)
    assert [key for key in SYMBOLIC if key not in table] == []
