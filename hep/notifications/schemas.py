"""Input models for notification settings and a browser's push subscription."""

from __future__ import annotations

import base64
import binascii
from datetime import time
from urllib.parse import urlsplit

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field, field_validator

# Where real browsers' push services live; a subscription elsewhere is refused, so the
# server never posts to an address a visitor made up (HEP_PUSH_ENDPOINT_HOSTS overrides).
PUSH_SERVICE_HOSTS = (
    "fcm.googleapis.com",  # Chrome, Edge on Android, Samsung Internet
    "android.googleapis.com",
    "updates.push.services.mozilla.com",  # Firefox
    "push.services.mozilla.com",
    "notify.windows.com",  # Edge on Windows
    "push.apple.com",  # Safari, iPhone home-screen apps
)


def _b64url(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(_("This device sent keys that cannot be read")) from exc


class SubscriptionKeys(BaseModel):
    p256dh: str = Field(min_length=80, max_length=200)
    auth: str = Field(min_length=16, max_length=64)

    @field_validator("p256dh")
    @classmethod
    def _point(cls, value: str) -> str:
        raw = _b64url(value)
        if len(raw) != 65 or raw[0] != 4:
            raise ValueError(_("This device sent keys that cannot be read"))
        return value

    @field_validator("auth")
    @classmethod
    def _secret(cls, value: str) -> str:
        if len(_b64url(value)) != 16:
            raise ValueError(_("This device sent keys that cannot be read"))
        return value


class SubscriptionIn(BaseModel):
    """PushSubscription.toJSON() as the browser gives it."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=12, max_length=1000)
    keys: SubscriptionKeys
    # Sent by the service worker when the browser renewed the subscription
    # (pushsubscriptionchange): the endpoint this one takes over from.
    replaces: str | None = Field(default=None, max_length=1000)


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=12, max_length=1000)


def endpoint_allowed(
    endpoint: str, hosts: tuple[str, ...] | list[str] | str | None, allow_any: bool
) -> bool:
    """An https address at a known push service (any http(s) address when testing)."""
    parts = urlsplit(endpoint)
    if not parts.hostname:
        return False
    if allow_any:
        return parts.scheme in ("http", "https")
    if parts.scheme != "https":
        return False
    host = parts.hostname.lower()
    if isinstance(hosts, str):  # HEP_PUSH_ENDPOINT_HOSTS=a.example,b.example
        hosts = tuple(h.strip() for h in hosts.split(",") if h.strip())
    return any(host == h or host.endswith("." + h) for h in (hosts or PUSH_SERVICE_HOSTS))


class NotificationSettings(BaseModel):
    quiet_hours_start: time | None = Field(default=None, title="Start of quiet hours")
    quiet_hours_end: time | None = Field(default=None, title="End of quiet hours")
    kinds: list[str] = Field(default_factory=list, title="What to send")
