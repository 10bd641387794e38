"""Keeping tokens and passwords out of every message: errors, our logs and httpx's own log lines
(httpx logs every request URL at INFO, query string, where Altacolor puts its password, included).
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
#: Shorter strings are not treated as secrets: masking them would garble ordinary text.
MIN_SECRET_LENGTH = 3


class Secrets:
    """A set of secret strings (and their URL-encoded forms) to mask out of any text. Thread-safe."""

    def __init__(self, *values: str | None) -> None:
        self._lock = threading.Lock()
        self._forms: tuple[str, ...] = ()
        self.add(*values)

    def add(self, *values: str | None) -> None:
        """Remember more secrets (with their URL-encoded forms); short or empty ones are ignored."""
        forms = set(self._forms)
        for value in values:
            if value and len(value) >= MIN_SECRET_LENGTH:
                forms.update({value, quote(value, safe=""), quote_plus(value)})
        with self._lock:
            # Longest first, so a secret that contains another is masked whole.
            self._forms = tuple(sorted(forms, key=len, reverse=True))

    @property
    def forms(self) -> tuple[str, ...]:
        """Every secret and its URL-encoded forms, longest first."""
        return self._forms

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def __repr__(self) -> str:
        return f"Secrets({len(self._forms)} forms)"


class _RedactingFilter(logging.Filter):
    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.secrets.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_HTTP_LOG_SECRETS = Secrets()
_FILTER = _RedactingFilter(_HTTP_LOG_SECRETS)
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_FILTER)


def hide_in_http_logs(*values: str | None) -> None:
    """Mask ``values`` in every line the httpx and httpcore loggers of this process emit."""
    _HTTP_LOG_SECRETS.add(*values)
