"""``altegio-sandbox`` / ``python -m airflow_provider_altegio.sandbox``: run the sandbox server.

Prints exactly one line to stdout once it serves, then serves until SIGINT or SIGTERM::

    sandbox ready altegio=http://127.0.0.1:8787/api/v1 altacolor=http://127.0.0.1:8787 locations=1001,1002
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from collections.abc import Sequence

from airflow_provider_altegio.sandbox import options as defaults


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (every option has a documented default)."""
    parser = argparse.ArgumentParser(
        prog="altegio-sandbox",
        description="A local, faithful Altegio (YCLIENTS) v1 and Altacolor API server for demos and tests.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default=defaults.DEFAULT_HOST, help="interface to listen on")
    parser.add_argument("--port", type=int, default=defaults.DEFAULT_PORT, help="port; 0 picks a free port")
    parser.add_argument("--seed", type=int, default=defaults.DEFAULT_SEED, help="seed of the generated data")
    parser.add_argument(
        "--products", type=int, default=defaults.DEFAULT_PRODUCTS, help="products per location"
    )
    parser.add_argument(
        "--rps", type=float, default=defaults.DEFAULT_RPS, help="requests/second per token; 0: off"
    )
    parser.add_argument(
        "--rpm", type=float, default=defaults.DEFAULT_RPM, help="requests/minute per token; 0: off"
    )
    parser.add_argument("--partner-token", default=defaults.DEFAULT_PARTNER_TOKEN)
    parser.add_argument("--user-token", default=defaults.DEFAULT_USER_TOKEN)
    parser.add_argument("--login", default=defaults.DEFAULT_LOGIN, help="login accepted by POST /auth")
    parser.add_argument(
        "--password", default=defaults.DEFAULT_PASSWORD, help="password accepted by POST /auth"
    )
    parser.add_argument("--altacolor-username", default=defaults.DEFAULT_ALTACOLOR_USERNAME)
    parser.add_argument("--altacolor-password", default=defaults.DEFAULT_ALTACOLOR_PASSWORD)
    parser.add_argument(
        "--reject-negative-stock",
        action="store_true",
        help="answer 422 to outflows beyond stock on hand (default: stock may go negative)",
    )
    parser.add_argument(
        "--altacolor-disabled", action="store_true", help="answer 31000 to every Altacolor call"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request to stderr")
    return parser


def cannot_listen(host: str, port: int, error: OSError) -> str:
    """Why the sandbox cannot serve on ``host:port``, and what to do about it."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another sandbox, e.g. `make sandbox`?); "
            "stop it, or choose another port with --port (0 picks a free one)"
        )
    return f"cannot listen on {host}:{port}: {error.strerror or error}"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, start the server, print the ready line, serve until interrupted."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        sandbox_options = defaults.SandboxOptions(
            host=args.host,
            port=args.port,
            seed=args.seed,
            products=args.products,
            rps=args.rps,
            rpm=args.rpm,
            partner_token=args.partner_token,
            user_token=args.user_token,
            login=args.login,
            password=args.password,
            altacolor_username=args.altacolor_username,
            altacolor_password=args.altacolor_password,
            allow_negative_stock=not args.reject_negative_stock,
            altacolor_enabled=not args.altacolor_disabled,
            access_log=args.access_log,
        )
    except ValueError as exc:
        print(f"altegio-sandbox: {exc}", file=sys.stderr)
        return 2
    # Imported here so that --help stays instant.
    from airflow_provider_altegio.sandbox.server import SandboxServer

    try:
        server = SandboxServer(sandbox_options)
    except OSError as exc:
        print(f"altegio-sandbox: {cannot_listen(args.host, args.port, exc)}", file=sys.stderr)
        return 1

    def announce() -> None:
        print(server.ready_line(), flush=True)

    server.serve_forever(on_ready=announce)
    return 0


if __name__ == "__main__":
    sys.exit(main())
