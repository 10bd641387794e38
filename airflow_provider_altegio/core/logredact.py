"""Keep the provider's secrets out of httpx's own log lines.

httpx logs every request at INFO as ``HTTP Request: GET <full URL> ...``, query string included,
and the Altacolor API takes its username and password in the query string of a GET. Airflow's
secrets masker hides registered secrets in task logs, but only where its handlers format the
record; a worker or script with its own logging set up would print the password. This filter sits
on the ``httpx`` logger itself, so every handler downstream sees the redacted line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

_MASK = "***"
_LOGGERS = ("httpx", "httpcore")


class SecretRedactingFilter(logging.Filter):
    """Replace every registered secret in a record's rendered message with ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secrets (empty strings are ignored: they would match everywhere)."""
        with self._lock:
            self._secrets = self._secrets | {s for s in secrets if s}

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        if not secrets:
            return True
        message = record.getMessage()
        redacted = message
        # Longest first, so a secret that contains another is replaced whole.
        for secret in sorted(secrets, key=len, reverse=True):
            if secret in redacted:
                redacted = redacted.replace(secret, _MASK)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = SecretRedactingFilter()
_installed = False
_install_lock = threading.Lock()


def redact_in_http_logs(secrets: Iterable[str | None]) -> None:
    """Hide ``secrets`` (and nothing else) from the httpx and httpcore loggers of this process."""
    global _installed
    _FILTER.add(s for s in secrets if s)
    if not _installed:
        with _install_lock:
            if not _installed:
                for name in _LOGGERS:
                    logging.getLogger(name).addFilter(_FILTER)
                _installed = True
