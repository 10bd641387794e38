"""How to reach one API: a connection's transport settings and their defaults (which the
connection forms in ``get_provider_info`` show too)."""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_provider_altegio import __version__

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
#: The platform's documented budget per account: 5 requests a second and 200 a minute.
DEFAULT_REQUESTS_PER_SECOND = 5.0
DEFAULT_REQUESTS_PER_MINUTE = 200.0
#: How long one request may spend waiting out 429 answers before it fails.
DEFAULT_RATE_LIMIT_WAIT = 600.0
DEFAULT_USER_AGENT = f"airflow-provider-altegio/{__version__}"


@dataclass(frozen=True)
class ConnectionConfig:
    """Transport settings of one connection (its secrets live in the dialect).

    :param base_url: URL every request path is appended to.
    :param timeout: per-request timeout in seconds.
    :param max_retries: retries on 429, 502, 503, 504 and network failures.
    :param requests_per_second: client-side budget (``None``: unlimited), as ``requests_per_minute``.
    :param rate_limit_store: where the processes sharing the budget keep it (see
        :func:`~airflow_provider_altegio.core.ratelimit.open_store`; ``None``: a file on this machine).
    :param rate_limit_wait: seconds one request may spend waiting out 429 answers (which do not
        count against ``max_retries``).
    :param verify_ssl: verify TLS certificates; only a test server should turn it off.
    :param connection_id: the Airflow connection it was read from, for error messages.
    """

    base_url: str
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    requests_per_second: float | None = DEFAULT_REQUESTS_PER_SECOND
    requests_per_minute: float | None = DEFAULT_REQUESTS_PER_MINUTE
    rate_limit_store: str | None = field(default=None, repr=False)
    rate_limit_wait: float = DEFAULT_RATE_LIMIT_WAIT
    verify_ssl: bool = True
    user_agent: str = DEFAULT_USER_AGENT
    connection_id: str | None = None

    @property
    def rate_limited(self) -> bool:
        """Whether any client-side budget applies."""
        return bool(self.requests_per_second or self.requests_per_minute)
