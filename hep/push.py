"""Web Push: VAPID keys kept in the instance folder."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask import Flask
from py_vapid import Vapid


def _key_path(app: Flask) -> Path:
    return Path(app.instance_path) / "vapid_private.pem"


def ensure_vapid_keys(app: Flask, force: bool = False) -> str:
    """Create the VAPID key pair on first use; return the public key for PushManager."""
    path = _key_path(app)
    if force or not path.exists():
        vapid = Vapid()
        vapid.generate_keys()
        vapid.save_key(str(path))
        path.chmod(0o600)
    return vapid_public_key(app)


def vapid_public_key(app: Flask) -> str:
    vapid = Vapid.from_file(str(_key_path(app)))
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
