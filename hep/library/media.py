"""Exercise photos and videos on disk: type sniffing, size limit, random names, range serving.

Files live in instance/media/ under random names; who may fetch one is decided in hep.access.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import Response, abort, current_app, send_file
from flask_babel import gettext as _

CHUNK = 64 * 1024
SNIFF_BYTES = 64


@dataclass(frozen=True)
class MediaType:
    kind: str  # image | video
    content_type: str
    extension: str


JPEG = MediaType("image", "image/jpeg", "jpg")
PNG = MediaType("image", "image/png", "png")
WEBP = MediaType("image", "image/webp", "webp")
MP4 = MediaType("video", "video/mp4", "mp4")
WEBM = MediaType("video", "video/webm", "webm")
QUICKTIME = MediaType("video", "video/quicktime", "mov")

# Boxes an old QuickTime file may start with instead of "ftyp".
_QUICKTIME_BOXES = (b"moov", b"mdat", b"wide", b"free", b"skip")


def sniff(head: bytes) -> MediaType | None:
    """What the file really is, from its first bytes; None for anything we do not accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:SNIFF_BYTES]:
        return WEBM
    if head[4:8] == b"ftyp":
        return QUICKTIME if head[8:12] == b"qt  " else MP4
    if head[4:8] in _QUICKTIME_BOXES:
        return QUICKTIME
    return None


class MediaRejected(ValueError):
    """The upload is not a photo or video we accept; the message is for the therapist."""


def media_dir() -> Path:
    path = Path(current_app.instance_path) / "media"
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_bytes() -> int:
    return int(current_app.config["MEDIA_MAX_BYTES"])


def size_words(n: int) -> str:
    """A file size in the unit people know: "50 MB", "400 KB"."""
    if n >= 1024 * 1024:
        return _("%(n)s MB", n=f"{n / (1024 * 1024):.0f}")
    return _("%(n)s KB", n=max(1, round(n / 1024)))


@dataclass(frozen=True)
class StoredFile:
    storage_name: str
    media_type: MediaType
    size_bytes: int


def store(stream: IO[bytes] | None) -> StoredFile:
    """Check and save an uploaded file; raises MediaRejected with a plain message."""
    head = stream.read(SNIFF_BYTES) if stream is not None else b""
    if not head:
        raise MediaRejected(_("Choose a photo or video to upload"))
    media_type = sniff(head)
    if media_type is None:
        raise MediaRejected(
            _("The file must be a photo (JPEG, PNG or WebP) or a video (MP4, MOV or WebM)")
        )
    limit = max_bytes()
    name = f"{secrets.token_urlsafe(24)}.{media_type.extension}"
    path = media_dir() / name
    size = len(head)
    try:
        with path.open("xb") as out:
            out.write(head)
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise MediaRejected(
                        _(
                            "The file is too big. The largest file you can upload is %(size)s.",
                            size=size_words(limit),
                        )
                    )
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StoredFile(name, media_type, size)


def remove(storage_name: str) -> None:
    (media_dir() / storage_name).unlink(missing_ok=True)


def serve(storage_name: str, content_type: str) -> Response:
    """The file with its content type, ETag and Range support; cached only by the browser."""
    path = media_dir() / storage_name
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=content_type, conditional=True, max_age=0, etag=True)
    response.cache_control.no_cache = None
    response.cache_control.public = False
    response.cache_control.private = True
    response.cache_control.max_age = 3600
    response.expires = None
    return response
