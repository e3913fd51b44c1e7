"""Web Push: the VAPID key pair, kept in the instance folder and created on first use.

The private key signs every push (hep.notifications.delivery); the public key is what a
browser's PushManager.subscribe() needs. Replacing the pair ends every subscription.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask import Flask
from py_vapid import Vapid


def key_path(app: Flask) -> Path:
    return Path(app.instance_path) / "vapid_private.pem"


def ensure_vapid_keys(app: Flask, force: bool = False) -> str:
    """Create the VAPID key pair on first use; return the public key for PushManager.

    Safe when several web workers start at once: the first file written wins and everyone
    reads that one.
    """
    path = key_path(app)
    if force or not path.exists():
        vapid = Vapid()
        vapid.generate_keys()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".vapid-")
        os.close(fd)
        try:
            vapid.save_key(tmp)
            os.chmod(tmp, 0o600)
            if force:
                os.replace(tmp, path)
            else:
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)  # atomic: fails if another process got there first
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        app.extensions.pop("hep.vapid", None)
    return vapid_public_key(app)


def load_vapid(app: Flask) -> Vapid:
    """The instance's VAPID key, read once per process."""
    vapid = app.extensions.get("hep.vapid")
    if vapid is None:
        if not key_path(app).exists():
            ensure_vapid_keys(app)
        vapid = Vapid.from_file(str(key_path(app)))
        app.extensions["hep.vapid"] = vapid
    return vapid


def vapid_public_bytes(app: Flask) -> bytes:
    """The public key as the uncompressed P-256 point (a browser's applicationServerKey)."""
    return load_vapid(app).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def vapid_public_key(app: Flask) -> str:
    """The public key as URL-safe base64 of the uncompressed point (applicationServerKey)."""
    return base64.urlsafe_b64encode(vapid_public_bytes(app)).rstrip(b"=").decode()
