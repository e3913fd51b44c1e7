"""A local Web Push service for tests and the benchmark: it checks every push like a real one.

Each subscription it hands out has its own P-256 key pair and auth secret (made here with
cryptography), so every message is DECRYPTED (RFC 8291 / http_ece aes128gcm) and its VAPID
header VERIFIED (RFC 8292: an ES256 JWT over aud = this origin, exp in the future, a sub,
signed by the key in k=). It answers 201, or 404 / 410 / 500 when told to.

    with PushServer() as server:
        sub = server.subscription()
        ... push to sub.info ...
        assert server.problems == [] and server.messages[0].payload["title"] == "..."

`python -m tests.pushserver` runs it as its own process (the benchmark does, with --light:
count only, so the server's own work does not slow the sender being measured).
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

VAPID_HEADER = re.compile(r"^vapid t=(?P<t>[\w.-]+),\s*k=(?P<k>[\w-]+)$")
MAX_JWT_LIFETIME = 24 * 3600  # RFC 8292 §2


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    """What a browser's PushManager.subscribe() would hold: an endpoint and the keys."""

    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    @property
    def info(self) -> dict[str, Any]:
        """PushSubscription.toJSON()."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": self.auth},
        }


@dataclass
class Message:
    """One push as received, decrypted and checked."""

    token: str
    payload: Any
    plaintext: bytes
    claims: dict[str, Any]
    vapid_key: str
    ttl: int
    urgency: str | None
    headers: dict[str, str] = field(default_factory=dict)
    received_at: float = field(default_factory=time.time)


class PushServer:
    def __init__(self, light: bool = False, expected_vapid_key: str | None = None) -> None:
        self.light = light
        self.expected_vapid_key = expected_vapid_key
        self.subscriptions: dict[str, Subscription] = {}
        self.messages: list[Message] = []
        self.problems: list[str] = []
        self.count = 0
        self._always: dict[str, int] = {}
        self._next: dict[str, deque[int]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- running ---------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> PushServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> PushServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test controls ---------------------------------------------------------------------

    def subscription(self) -> Subscription:
        """A new subscription on this server, with its own keys."""
        token = secrets.token_urlsafe(12)
        sub = Subscription(
            token=token,
            endpoint=f"{self.origin}/push/{token}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=secrets.token_bytes(16),
        )
        with self._lock:
            self.subscriptions[token] = sub
        return sub

    def answer(self, sub: Subscription, status: int) -> None:
        """Answer every push to `sub` with this status from now on."""
        with self._lock:
            self._always[sub.token] = status

    def answer_next(self, sub: Subscription, *statuses: int) -> None:
        """Answer the next pushes to `sub` with these statuses, in order, then as before."""
        with self._lock:
            self._next[sub.token] = deque(statuses)

    def messages_for(self, sub: Subscription) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.token == sub.token]

    def _status_for(self, token: str) -> int:
        with self._lock:
            queue = self._next.get(token)
            if queue:
                return queue.popleft()
            return self._always.get(token, 201)

    # --- checking a push -------------------------------------------------------------------

    def verify_vapid(self, authorization: str) -> tuple[dict[str, Any], str]:
        match = VAPID_HEADER.match(authorization or "")
        if not match:
            raise ValueError(f"Authorization is not 'vapid t=…,k=…': {authorization!r}")
        token, key = match["t"], match["k"]
        header_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(unb64url(header_b64))
        if header.get("alg") != "ES256":
            raise ValueError(f"JWT alg is {header.get('alg')!r}, not ES256")
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        signature = unb64url(signature_b64)
        if len(signature) != 64:
            raise ValueError("JWT signature is not 64 bytes (r || s)")
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise ValueError("JWT signature does not verify with the k= key") from exc
        claims = json.loads(unb64url(claims_b64))
        if claims.get("aud") != self.origin:
            raise ValueError(f"aud {claims.get('aud')!r} is not {self.origin!r}")
        now = time.time()
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= now or exp > now + MAX_JWT_LIFETIME:
            raise ValueError(f"exp {exp!r} is not within the next 24 hours")
        sub = claims.get("sub", "")
        if not (sub.startswith("mailto:") or sub.startswith("https:")):
            raise ValueError(f"sub {sub!r} is not a mailto: or https: contact")
        if self.expected_vapid_key and key != self.expected_vapid_key:
            raise ValueError("signed with another VAPID key than the app's")
        return claims, key

    def receive(self, token: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.count += 1
            sub = self.subscriptions.get(token)
        if self.light:
            return self._status_for(token)
        if sub is None:
            return 404
        try:
            claims, key = self.verify_vapid(headers.get("authorization", ""))
            if headers.get("content-encoding") != "aes128gcm":
                raise ValueError(f"Content-Encoding is {headers.get('content-encoding')!r}")
            ttl = int(headers["ttl"])
            urgency = headers.get("urgency")
            if urgency not in (None, "very-low", "low", "normal", "high"):
                raise ValueError(f"Urgency {urgency!r}")
            plaintext = http_ece.decrypt(
                body,
                private_key=sub.private_key,
                auth_secret=sub.auth_secret,
                version="aes128gcm",
            )
            payload = json.loads(plaintext)
        except (ValueError, KeyError, http_ece.ECEException) as exc:
            with self._lock:
                self.problems.append(f"{token}: {exc}")
            return 400
        status = self._status_for(token)
        if status < 300:
            message = Message(token, payload, plaintext, claims, key, ttl, urgency, headers)
            with self._lock:
                self.messages.append(message)
        return status


def _handler(server: PushServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a pooled sender expects

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            token = self.path.rsplit("/", 1)[-1] if self.path.startswith("/push/") else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = server.receive(token, headers, body)
            self.send_response(status)
            if status == 201:
                self.send_header("Location", f"{server.origin}/message/{server.count}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            data = json.dumps({"count": server.count}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--light", action="store_true", help="count pushes, check nothing")
    args = parser.parse_args()
    push_server = PushServer(light=args.light).start()
    print(push_server.origin, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        push_server.stop()
