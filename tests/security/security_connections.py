"""The Airflow connections the security tests define for both APIs (imported as
``security_connections``: pytest puts this folder on ``sys.path`` when it imports a test module from it).

No client-side rate limit and no retries: a request that should not happen fails at once, and
an answer is read exactly once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

UNLIMITED = {"max_retries": 0, "requests_per_second": 0, "requests_per_minute": 0}


def define_connections(
    patch: pytest.MonkeyPatch,
    suffix: str,
    *,
    altegio_host: str,
    altacolor_host: str,
    tokens: tuple[str, str],
    credentials: tuple[str, str],
) -> None:
    """Set ``AIRFLOW_CONN_ALTEGIO_<suffix>`` and ``AIRFLOW_CONN_ALTACOLOR_<suffix>``.

    :param tokens: the Altegio partner and user tokens.
    :param credentials: the Altacolor login and password.
    """
    partner_token, user_token = tokens
    altegio_extra = {"partner_token": partner_token, "user_token": user_token, **UNLIMITED}
    login, password = credentials
    patch.setenv(
        f"AIRFLOW_CONN_ALTEGIO_{suffix}",
        json.dumps({"conn_type": "altegio", "host": altegio_host, "extra": altegio_extra}),
    )
    altacolor = {"conn_type": "altacolor", "host": altacolor_host, "login": login, "password": password}
    patch.setenv(f"AIRFLOW_CONN_ALTACOLOR_{suffix}", json.dumps({**altacolor, "extra": UNLIMITED}))
