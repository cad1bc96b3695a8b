"""Problems in Simplified Chinese for `Accept-Language: zh-CN`; the `code` never changes; 401 names Bearer."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from pathlib import Path

import httpx
import pytest

from app.core.errors import _HTTP_CODES, PROBLEM_JSON, ProblemError
from app.core.problem_i18n import CATALOGUE, EN, ZH_CN, negotiate, translate
from tests.helpers import PASSWORD, login_operator

ROOT = Path(__file__).parents[2]
SHIPPED = ("app", "merchants", "loyalty", "campaigns", "miniprogram_api")
_CODE = re.compile(r"^[a-z_]+(\.[a-z_]+)*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"Accept-Language": "zh-CN"}


def _problem_classes() -> set[type[ProblemError]]:
    for package in SHIPPED:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if ".migrations" not in info.name:
                importlib.import_module(info.name)
    found: set[type[ProblemError]] = set()
    pending = [ProblemError]
    while pending:
        cls = pending.pop()
        if cls.__module__.split(".")[0] in SHIPPED:  # not the problems other tests define for themselves
            found.add(cls)
        pending += cls.__subclasses__()
    return found


def _literal_codes() -> set[str]:
    """`code="…"` arguments and the code argument of problem_response/problem_body calls."""
    codes = set()
    for package in SHIPPED:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                values = [k.value for k in node.keywords if k.arg == "code"]
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ("problem_response", "problem_body") and len(node.args) > 1:
                    values.append(node.args[1])
                codes |= {
                    v.value
                    for v in values
                    if isinstance(v, ast.Constant) and isinstance(v.value, str) and _CODE.match(v.value)
                }
    return codes


def _documented_codes() -> set[str]:
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    return {
        example["value"]["code"]
        for operations in document["paths"].values()
        for operation in operations.values()
        for response in operation["responses"].values()
        for example in response.get("content", {}).get(PROBLEM_JSON, {}).get("examples", {}).values()
    }


def test_every_code_the_application_raises_or_documents_has_a_translation() -> None:
    raised = {cls.code for cls in _problem_classes()}
    codes = raised | _literal_codes() | _documented_codes() | {code for code, _ in _HTTP_CODES.values()}
    assert {"voucher.used", "auth.missing_token", "internal", "request.malformed"} <= codes  # the scan works
    assert sorted(codes - CATALOGUE.keys()) == []


def test_every_translation_is_chinese_and_names_only_known_placeholders() -> None:
    for code, (title, detail) in CATALOGUE.items():
        assert _CJK.search(title) and _CJK.search(detail), code
        assert set(re.findall(r"\{(\w*)\}", detail)) <= {"fields", "retry_after"}, code


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN", ZH_CN),
        ("zh", ZH_CN),
        ("zh-Hans-CN", ZH_CN),
        ("zh-cn,zh;q=0.9,en;q=0.8", ZH_CN),
        ("en-US,en;q=0.9,zh-CN;q=0.8", EN),
        ("fr, zh-CN;q=0.5", ZH_CN),
        ("zh-CN;q=0.3, en;q=0.7", EN),
        ("zh-CN;q=0", EN),
        ("zh-TW", EN),
        ("zh-Hant", EN),
        ("*", EN),
        ("", EN),
        (None, EN),
        ("zh-CN;q=abc", EN),
    ],
)
def test_accept_language_negotiation(header: str | None, language: str) -> None:
    assert negotiate(header) == language


def test_translate_fills_fields_and_retry_after_and_falls_back() -> None:
    errors = {"errors": [{"field": "amount"}, {"field": "phone"}, {"field": "amount"}]}
    assert translate(ZH_CN, 422, "validation_error", "Invalid input", "x", extra=errors) == (
        "输入无效",
        "以下字段无效：amount、phone",
    )
    assert translate(ZH_CN, 429, "rate_limited", "Too many", "x", headers={"Retry-After": "3"}) == (
        "请求过于频繁",
        "请求过于频繁，请 3 秒后重试",
    )
    # nothing to name: the title stands for the detail
    assert translate(ZH_CN, 422, "validation_error", "Invalid input", "x") == ("输入无效", "输入无效")
    # a code the catalogue does not know: the title of its status
    assert translate(ZH_CN, 410, "gone.somewhere", "Gone", "x") == ("已失效", "已失效")
    assert translate(EN, 404, "not_found", "Not found", "no such thing") == ("Not found", "no such thing")
    assert translate(None, 404, "not_found", "Not found", "no such thing") == ("Not found", "no such thing")


async def test_a_problem_in_chinese_keeps_its_code_and_shape(client: httpx.AsyncClient) -> None:
    english = await client.get("/no/such/route")
    chinese = await client.get("/no/such/route", headers=ZH)
    assert english.status_code == chinese.status_code == 404
    assert chinese.headers["content-type"].startswith(PROBLEM_JSON)
    assert chinese.headers["content-language"] == "zh-CN"
    assert english.headers["content-language"] == "en"
    assert chinese.headers["vary"] == english.headers["vary"] == "Accept-Language"
    zh, en = chinese.json(), english.json()
    assert (
        (zh["code"], zh["type"], zh["status"])
        == (en["code"], en["type"], en["status"])
        == (
            "not_found",
            "https://linli.dev/problems/not_found",
            404,
        )
    )
    assert zh.keys() == en.keys()
    assert (zh["title"], zh["detail"]) == ("未找到", "资源不存在或无权访问")
    assert (en["title"], en["detail"]) == ("Not found", "Not Found")


async def test_domain_problems_and_validation_errors_in_chinese(client: httpx.AsyncClient) -> None:
    headers = await login_operator(client, username="boss")
    taken = await client.post(
        "/ops/v1/operators",
        json={"username": "boss", "password": PASSWORD, "roles": ["auditor"]},
        headers=headers | ZH,
    )
    assert taken.status_code == 409
    assert taken.json()["code"] == "operator.exists"
    assert (taken.json()["title"], taken.json()["detail"]) == ("用户名已被占用", "已有运营人员使用该用户名")

    invalid = await client.post(
        "/ops/v1/operators", json={"username": "x", "password": "short"}, headers=headers | ZH
    )
    body = invalid.json()
    assert invalid.status_code == 422 and body["code"] == "validation_error"
    assert body["title"] == "输入无效"
    assert body["detail"].startswith("以下字段无效：") and "username" in body["detail"]
    assert {e["field"] for e in body["errors"]} >= {"username", "password", "roles"}

    malformed = await client.post(
        "/ops/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"} | ZH
    )
    assert (malformed.json()["code"], malformed.json()["title"]) == ("request.malformed", "请求格式错误")


@pytest.mark.parametrize("language", [None, "zh-CN"])
async def test_401_answers_name_the_bearer_scheme(client: httpx.AsyncClient, language: str | None) -> None:
    headers = {"Accept-Language": language} if language else {}
    missing = await client.get("/ops/v1/me", headers=headers)
    forged = await client.get("/ops/v1/me", headers=headers | {"Authorization": "Bearer not-a-token"})
    rejected = await client.post("/mp/v1/auth/login", json={"code": "dev:no spaces"}, headers=headers)
    wrong = await client.post("/ops/v1/auth/login", json={"username": "nobody", "password": PASSWORD})
    for response, code in [
        (missing, "auth.missing_token"),
        (forged, "auth.token_invalid"),
        (rejected, "auth.invalid_code"),
        (wrong, "auth.bad_credentials"),
    ]:
        assert response.status_code == 401, response.text
        assert response.json()["code"] == code
        assert response.headers["www-authenticate"] == "Bearer"
    if language:
        assert (missing.json()["title"], missing.json()["detail"]) == ("需要登录", "缺少 Bearer 访问令牌")
        assert rejected.json()["title"] == "登录码无效"
    else:
        assert missing.json()["title"] == "Authentication required"
