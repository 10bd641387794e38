"""Startup options of the sandbox and their documented defaults.

One frozen dataclass shared by the command line (``altegio-sandbox``), the Python API
(:func:`airflow_provider_altegio.sandbox.testing.run_sandbox`) and the application factory, so
that every way of starting the sandbox accepts the same names with the same defaults.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_SEED = 42
DEFAULT_PRODUCTS = 300
MAX_PRODUCTS = 1_000_000
DEFAULT_RPS = 5.0
DEFAULT_RPM = 200.0
DEFAULT_PARTNER_TOKEN = "sandbox-partner-token"  # noqa: S105 - documented sandbox default, not a secret
DEFAULT_USER_TOKEN = "sandbox-user-token"  # noqa: S105 - documented sandbox default, not a secret
DEFAULT_LOGIN = "sandbox@example.com"
DEFAULT_PASSWORD = "sandbox-password"  # noqa: S105 - documented sandbox default, not a secret
DEFAULT_ALTACOLOR_USERNAME = "sandbox-api"
DEFAULT_ALTACOLOR_PASSWORD = "sandbox-api-password"  # noqa: S105 - documented sandbox default, not a secret


@dataclass(frozen=True)
class SandboxOptions:
    """Everything that shapes a sandbox instance: data, limits and credentials.

    :param seed: makes the generated chain, catalogue, stock and supplier catalogue deterministic.
    :param products: catalogue size per location (products are generated lazily, so 100000 is cheap).
    :param rps: requests per second allowed per API token; 0 disables the limit.
    :param rpm: requests per minute allowed per API token; 0 disables the limit.
    :param allow_negative_stock: when False, sale, usage, write-off and transfer of more than is on
        hand are rejected with 422 (the real platform lets stock go negative by default).
    :param altacolor_enabled: when False every Altacolor call answers 31000 "API not enabled".
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    seed: int = DEFAULT_SEED
    products: int = DEFAULT_PRODUCTS
    rps: float = DEFAULT_RPS
    rpm: float = DEFAULT_RPM
    partner_token: str = DEFAULT_PARTNER_TOKEN
    user_token: str = DEFAULT_USER_TOKEN
    login: str = DEFAULT_LOGIN
    password: str = DEFAULT_PASSWORD
    altacolor_username: str = DEFAULT_ALTACOLOR_USERNAME
    altacolor_password: str = DEFAULT_ALTACOLOR_PASSWORD
    allow_negative_stock: bool = True
    altacolor_enabled: bool = True
    access_log: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.products <= MAX_PRODUCTS:
            raise ValueError(f"products: must be between 0 and {MAX_PRODUCTS}")
        if self.rps < 0 or self.rpm < 0:
            raise ValueError("rps/rpm: must be 0 (disabled) or positive")
        if not 0 <= self.port <= 65535:
            raise ValueError("port: must be between 0 and 65535")

    def replace(self, **changes: Any) -> SandboxOptions:
        """Return a copy with ``changes`` applied (unknown names raise ``TypeError``)."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        # Credentials are sandbox defaults, but users pass their own: keep them out of reprs.
        return (
            f"SandboxOptions(host={self.host!r}, port={self.port}, seed={self.seed}, "
            f"products={self.products}, rps={self.rps}, rpm={self.rpm}, "
            f"allow_negative_stock={self.allow_negative_stock})"
        )
