"""OAuth2 client-credentials tokens for the simulator: opaque, short-lived, revocable."""

from __future__ import annotations

import secrets
import threading
import time


class TokenIssuer:
    """Issue and check bearer tokens; tests revoke them to provoke a 401 on an unexpired token."""

    def __init__(self, client_id: str, client_secret: str, lifetime: int) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.lifetime = lifetime
        self.issued = 0
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def client_ok(self, client_id: str | None, client_secret: str | None) -> bool:
        """Return whether the client credentials are right (constant-time compare)."""
        return secrets.compare_digest(client_id or "", self.client_id) and secrets.compare_digest(
            client_secret or "", self.client_secret
        )

    def issue(self) -> tuple[str, int]:
        """Return a new token and its lifetime in seconds."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            # Forget expired tokens so a long-running simulator does not grow.
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + self.lifetime
            self.issued += 1
        return token, self.lifetime

    def valid(self, token: str) -> bool:
        with self._lock:
            expires = self._tokens.get(token)
        return expires is not None and expires > time.monotonic()

    def revoke_all(self) -> None:
        """Invalidate every token issued so far (as a server restart or key rotation would)."""
        with self._lock:
            self._tokens.clear()
