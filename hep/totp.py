"""Time-based one-time codes (TOTP, RFC 6238 over HOTP, RFC 4226): SHA-1, 30-second steps,
6 digits, the kind every authenticator app shows. Pure functions; the caller passes `now`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
from datetime import datetime
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
# Codes from one step before or after now are accepted too (a phone clock a little off).
DRIFT_STEPS = 1


def new_secret() -> str:
    """A fresh 160-bit key (the size RFC 4226 recommends), as base32 without padding."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226: the code for one counter value, with dynamic truncation."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def time_step(moment: datetime | float) -> int:
    """The 30-second step a moment falls in (seconds since the Unix epoch // 30)."""
    seconds = moment.timestamp() if isinstance(moment, datetime) else moment
    return int(seconds // STEP_SECONDS)


def code_at(secret: str, moment: datetime | float, digits: int = DIGITS) -> str:
    """The code an authenticator app shows at this moment."""
    return hotp(_key(secret), time_step(moment), digits)


def clean_code(text: str) -> str:
    """What someone typed, without the spaces or dashes some apps show inside a code."""
    return re.sub(r"[\s-]", "", text)


def matching_step(
    secret: str, code: str, now: datetime, after_step: int | None = None
) -> int | None:
    """The time step the code belongs to, within the allowed drift, or None.

    Steps at or before `after_step` (the last one used) are not accepted: a code works once.
    """
    code = clean_code(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    key = _key(secret)
    current = time_step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from a QR code."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def grouped(secret: str) -> str:
    """The key in groups of four letters, easier to type by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
