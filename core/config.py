"""Typed settings, read once from the environment (SPEC §15). Nothing else reads os.environ."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

DEV_DEMO_PASSWORD = "Doktu-demo-2026!"  # noqa: S105 - documented in the README; refused in production
APP_DB_ROLE = "doktu_app"
ZOOM_VIDEO_SDK_SCRIPT = "https://source.zoom.us/videosdk/zoom-video-2.3.15.min.js"


def default_content_dir() -> Path:
    """The repository's `content/` in a source checkout; `./content` where the package is installed
    (the Docker image copies it to /app/content, its working directory)."""
    beside_code = Path(__file__).resolve().parents[1] / "content"
    return beside_code if beside_code.is_dir() else Path("content").resolve()


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; raised at start-up, never later."""


def sqlalchemy_url(url: str) -> str:
    """Accept plain `postgres://` / `postgresql://` URLs and pin the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    secret_key: str = ""
    database_url: str | None = None  # owner connection (migrations); app uses SET ROLE doktu_app
    database_app_url: str | None = None  # optional direct login as doktu_app
    redis_url: str | None = None
    instance_path: Path = field(default_factory=lambda: Path("instance").resolve())
    content_dir: Path = field(default_factory=default_content_dir)  # legal pages and blog posts (Markdown)
    demo_password: str = DEV_DEMO_PASSWORD
    jwt_ttl_seconds: int = 900
    log_level: str = "INFO"
    public_base_url: str = "http://127.0.0.1:5000"
    stripe_secret_key: str | None = None
    stripe_publishable_key: str | None = None
    stripe_webhook_secret: str = ""
    zoom_sdk_key: str | None = None
    zoom_sdk_secret: str | None = None
    # Where the join page loads Zoom's Video SDK from, only when the keys above are set (SPEC §0: a
    # third-party script on the one page that needs it). A copy on our own origin works too.
    zoom_sdk_script_url: str = ZOOM_VIDEO_SDK_SCRIPT
    sendgrid_api_key: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    smtp_url: str | None = None
    cal_api_key: str | None = None
    recaptcha_site_key: str | None = None
    recaptcha_secret_key: str | None = None
    otel_endpoint: str | None = None
    # Prometheus scrapes /metrics with `Authorization: Bearer <token>`; without a token, only direct
    # clients on loopback or a private network (no proxy in between) may read it.
    metrics_token: str | None = None
    stun_url: str | None = None  # the device test's STUN check; see core.video.ice.device_test_stun_url
    # The consultation room (SPEC §16): `webrtc` (self-hosted, peer to peer) or `zoom` (Video SDK).
    video_provider: str = "webrtc"
    stun_urls: tuple[str, ...] = ()  # may be empty: direct paths on one network need none
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None  # coturn's static-auth-secret (use-auth-secret)
    session_cookie_secure: bool = False
    # Reverse proxies in front of the app (Fly's proxy, a load balancer) whose X-Forwarded-For and
    # X-Forwarded-Proto are trusted; 0 = none (the client address is the socket's).
    proxy_hops: int = 0
    rate_limits: bool = True
    # Days the care team does not work (issue 25: support due times); default: French public holidays.
    support_holidays: tuple[date, ...] = ()
    # Send the Content-Security-Policy as Content-Security-Policy-Report-Only (trying a change out).
    csp_report_only: bool = False
    # Reschedules a patient may make per calendar month, all appointments together (SPEC §5); 0 = no cap.
    reschedule_monthly_cap: int = 5
    # See a doctor now (SPEC §17): minutes in the queue before the patient is offered a full refund.
    walkin_max_wait_minutes: int = 15

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_testing(self) -> bool:
        return self.env == "test"

    @property
    def embedded_database(self) -> bool:
        return not self.database_url

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        env = dict(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        mode = get("DOKTU_ENV") or "development"
        if mode not in {"development", "test", "production"}:
            raise ConfigError("DOKTU_ENV must be development, test or production")
        instance = Path(get("DOKTU_INSTANCE_PATH") or "instance").resolve()
        database_url = get("DATABASE_URL")
        values = dict(
            env=mode,
            secret_key=get("SECRET_KEY") or "",
            database_url=sqlalchemy_url(database_url) if database_url else None,
            database_app_url=sqlalchemy_url(v) if (v := get("DATABASE_APP_URL")) else None,
            redis_url=get("REDIS_URL"),
            instance_path=instance,
            content_dir=Path(v).resolve() if (v := get("CONTENT_DIR")) else default_content_dir(),
            demo_password=get("DOKTU_DEMO_PASSWORD") or ("" if mode == "production" else DEV_DEMO_PASSWORD),
            jwt_ttl_seconds=int(get("JWT_TTL_SECONDS") or 900),
            log_level=(get("LOG_LEVEL") or "INFO").upper(),
            public_base_url=(get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
            stripe_secret_key=get("STRIPE_SECRET_KEY"),
            stripe_publishable_key=get("STRIPE_PUBLISHABLE_KEY"),
            stripe_webhook_secret=get("STRIPE_WEBHOOK_SECRET") or "",
            zoom_sdk_key=get("ZOOM_SDK_KEY"),
            zoom_sdk_secret=get("ZOOM_SDK_SECRET"),
            zoom_sdk_script_url=get("ZOOM_SDK_SCRIPT_URL") or ZOOM_VIDEO_SDK_SCRIPT,
            sendgrid_api_key=get("SENDGRID_API_KEY"),
            twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
            twilio_from_number=get("TWILIO_FROM_NUMBER"),
            smtp_url=get("SMTP_URL"),
            cal_api_key=get("CAL_API_KEY"),
            recaptcha_site_key=get("RECAPTCHA_SITE_KEY"),
            recaptcha_secret_key=get("RECAPTCHA_SECRET_KEY"),
            otel_endpoint=get("OTEL_EXPORTER_OTLP_ENDPOINT"),
            metrics_token=get("METRICS_TOKEN"),
            stun_url=get("STUN_URL"),
            video_provider=_choice(get("VIDEO_PROVIDER"), "VIDEO_PROVIDER", ("webrtc", "zoom"), "webrtc"),
            stun_urls=_url_list(get("STUN_URLS"), "STUN_URLS", ("stun:", "stuns:")),
            turn_urls=_url_list(get("TURN_URLS"), "TURN_URLS", ("turn:", "turns:")),
            turn_secret=get("TURN_SECRET"),
            session_cookie_secure=(get("SESSION_COOKIE_SECURE") or ("1" if mode == "production" else "0"))
            in {"1", "true", "yes"},
            proxy_hops=_non_negative_int(get("PROXY_HOPS"), "PROXY_HOPS", 0),
            # Tests switch throttling on where they test it; everywhere else it is on.
            rate_limits=(get("RATE_LIMITS") or ("0" if mode == "test" else "1")) in {"1", "true", "yes"},
            csp_report_only=(get("CSP_REPORT_ONLY") or "0") in {"1", "true", "yes"},
            reschedule_monthly_cap=_non_negative_int(get("RESCHEDULE_MONTHLY_CAP"), "RESCHEDULE_MONTHLY_CAP", 5),
            walkin_max_wait_minutes=_non_negative_int(get("WALKIN_MAX_WAIT"), "WALKIN_MAX_WAIT", 15),
            support_holidays=_dates(get("SUPPORT_HOLIDAYS") or FRENCH_HOLIDAYS_2026_2027, "SUPPORT_HOLIDAYS"),
        )
        values.update(overrides)
        if values["turn_urls"] and not values["turn_secret"]:
            raise ConfigError("TURN_URLS needs TURN_SECRET (coturn's static-auth-secret)")
        settings = cls(**values)
        return settings.with_defaults()

    def with_defaults(self) -> Settings:
        """Fail fast in production; give development a stable secret of its own."""
        if self.is_production:
            missing = [name for name, value in (
                ("SECRET_KEY", self.secret_key), ("DATABASE_URL", self.database_url),
                ("REDIS_URL", self.redis_url), ("DOKTU_DEMO_PASSWORD", self.demo_password),
                ("STRIPE_WEBHOOK_SECRET", self.stripe_webhook_secret),
            ) if not value]
            if missing:
                raise ConfigError("production needs " + ", ".join(missing))
            if len(self.secret_key) < 32:
                raise ConfigError("SECRET_KEY must be at least 32 characters in production")
            return self
        changes: dict = {}
        if not self.secret_key:
            changes["secret_key"] = _instance_secret(self.instance_path, "secret_key")
        if not self.stripe_webhook_secret:
            changes["stripe_webhook_secret"] = "whsec_" + _instance_secret(self.instance_path, "whsec")
        return _replace(self, **changes) if changes else self


def _choice(value: str | None, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (value or default).lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of: {', '.join(allowed)}")
    return value


def _url_list(value: str | None, name: str, schemes: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of ICE server URLs (empty: none)."""
    urls = tuple(u.strip() for u in (value or "").split(",") if u.strip())
    bad = [u for u in urls if not u.startswith(schemes)]
    if bad:
        raise ConfigError(f"{name}: {bad[0]!r} does not start with {' or '.join(schemes)}")
    return urls


FRENCH_HOLIDAYS_2026_2027 = (
    "2026-01-01,2026-04-06,2026-05-01,2026-05-08,2026-05-14,2026-05-25,2026-07-14,2026-08-15,2026-11-01,"
    "2026-11-11,2026-12-25,2027-01-01,2027-03-29,2027-05-01,2027-05-06,2027-05-08,2027-05-17,2027-07-14,"
    "2027-08-15,2027-11-01,2027-11-11,2027-12-25")


def _dates(value: str, name: str) -> tuple[date, ...]:
    """Comma-separated ISO dates (YYYY-MM-DD)."""
    try:
        return tuple(sorted(date.fromisoformat(d.strip()) for d in value.split(",") if d.strip()))
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated dates like 2026-12-25") from None


def _non_negative_int(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()):
        raise ConfigError(f"{name} must be a whole number ≥ 0")
    return int(value)


def _instance_secret(instance: Path, name: str) -> str:
    """A random secret kept in the instance folder so sessions survive restarts in development."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _replace(settings: Settings, **changes) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)


def current() -> Settings:
    """The settings the process was bootstrapped with (kept by `core.runtime`, nowhere else)."""
    from core import runtime  # runtime imports this module's Settings

    return runtime.current().settings
