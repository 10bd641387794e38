"""make test-compat: the provider on every Airflow release it declares, each with its own pins.

    python scripts/test_compat.py pins 3.1.8 3.2.2 3.3.2    # (re)write constraints/airflow-X.txt
    python scripts/test_compat.py test 3.1.8 3.2.2 3.3.2    # DAG, trigger, sensor, lineage tests; parse
    python scripts/test_compat.py wheel 3.1.8               # the built wheel runs a DAG there

``pins`` resolves the provider with each release as it was on PyPI the day after its release
(``uv pip compile --exclude-newer``); Airflow's own constraints branches cannot be read from this
network. ``test`` installs each release with its pins into ``.venv-compat-<minor>``, runs the
DAG tests, the trigger, sensor and lineage tests and the connection-form test of every release side by side
(they mostly wait, on sandboxes, api-servers and polls), then ``airflow dags list-import-errors``
over ``example_dags/`` with each. ``wheel`` installs ``dist/*.whl`` with pip beside the release, as a user
would, and runs ``airflow dags test altegio_write_off`` against the sandbox. Run by the Makefile
with the project's ``.venv/bin/python`` (whose ``uv`` it uses); it prints how long each step took.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"

#: Each release the provider declares and tests, with the day PyPI received it.
RELEASES = {"3.1.8": "2026-03-11", "3.2.2": "2026-05-29", "3.3.2": "2026-09-17"}
#: The openlineage extra's floor, apache-airflow-providers-openlineage 2.20 (its first release
#: the lineage facets were tested with), and the OpenLineage libraries it needs: August 2026.
OPENLINEAGE = dict.fromkeys(
    (
        "apache-airflow-providers-openlineage",
        "openlineage-integration-common",
        "openlineage-python",
        "openlineage-sql",
    ),
    "2026-08-30",
)
#: Packages taken as of a later day than their release's, and why.
LATER = {
    "3.1.8": {
        # The HITL examples' response_timeout needs the standard provider 1.12.2 (2026-03-28);
        # it needs common-compat 1.14.1 or newer, and OpenLineage 2.20 a newer one still.
        "apache-airflow-providers-standard": "2026-03-28",
        "apache-airflow-providers-common-compat": "2026-08-30",
        **OPENLINEAGE,
    },
    "3.2.2": OPENLINEAGE,
}
TEST_PATHS = [
    "tests/dags",
    "tests/triggers",
    "tests/sensors",
    "tests/lineage",
    "tests/unit/test_connection_forms.py",
]
#: The documented write-off input (the DAG's docstring), which the sandbox's seeded stock covers.
WRITE_OFF_CONF = {
    "location_id": 1001,
    "lines": [{"barcode": "2049275657760", "amount": 2, "reason": "broken in delivery"}],
}


def pins_file(release: str) -> Path:
    return ROOT / "constraints" / f"airflow-{release}.txt"


def minor(release: str) -> str:
    return ".".join(release.split(".")[:2])


def run(*command: str | Path, env: dict[str, str] | None = None, **options: object) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    argv = [str(c) for c in command]
    subprocess.run(argv, check=True, cwd=ROOT, env=env, **options)  # type: ignore[call-overload]  # noqa: S603


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def pins(release: str) -> None:
    """Write ``constraints/airflow-<release>.txt``: the provider's dependencies, its dev group and
    sandbox extra, with ``release`` as PyPI had them the day after the release."""
    later = LATER.get(release, {})
    command = [
        "uv", "pip", "compile", "pyproject.toml", "--group", "dev", "--extra", "sandbox",
        "--exclude-newer", _next_day(RELEASES[release]),
        *[a for name, day in later.items() for a in ("--exclude-newer-package", f"{name}={_next_day(day)}")],
        "--python-version", f"{sys.version_info.major}.{sys.version_info.minor}",
        "--no-header", "--no-annotate",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        requirement = Path(tmp) / "airflow.txt"
        requirement.write_text(f"apache-airflow=={release}\n")
        argv = [str(UV), *command[1:], str(requirement)]
        resolved = subprocess.run(argv, check=True, cwd=ROOT, capture_output=True, text=True).stdout  # noqa: S603
    header = [
        f"# Airflow {release} (on PyPI {RELEASES[release]}) with the provider's dependencies and its",
        "# dev group and sandbox extra as PyPI had them the day after: its own pins. Airflow's published",
        "# constraints (the constraints-X.Y.Z branches) cannot be read from this network.",
        *[f"# Except {name}: as of {day} (LATER in scripts/test_compat.py)." for name, day in later.items()],
        "# Made by `make compat-pins`, that is:",
        f"#   {' '.join(command)} <(echo apache-airflow=={release})",
    ]
    pins_file(release).write_text("\n".join(header) + "\n" + resolved)
    print(f"wrote {pins_file(release).relative_to(ROOT)}")


def compat_venv(release: str) -> Path:
    """``.venv-compat-<minor>`` with ``release`` and its pins, and the provider (editable)."""
    venv = ROOT / f".venv-compat-{minor(release)}"
    if not (venv / "bin" / "python").exists():
        run(sys.executable, "-m", "venv", "--without-pip", venv)
    run(
        UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python",
        "-c", pins_file(release), "--build-constraints", "build-constraints.txt",
        f"apache-airflow=={release}", "-e", ".", "--group", "dev",
    )  # fmt: skip
    return venv


def isolated_env(home: Path, dags: Path) -> dict[str, str]:
    """The environment of an Airflow CLI call with its own home and dags folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW__"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
    )
    return env


def import_errors(venv: Path) -> list[object]:
    """What ``airflow dags list-import-errors`` reports for ``example_dags/`` (parsed locally)."""
    with tempfile.TemporaryDirectory(prefix="altegio-compat-") as tmp:
        env = isolated_env(Path(tmp), ROOT / "example_dags")
        run(venv / "bin" / "airflow", "db", "migrate", env=env, stdout=subprocess.DEVNULL)
        print("+ airflow dags list-import-errors --local --output json", flush=True)
        listed = subprocess.run(  # noqa: S603 - this venv's airflow, fixed arguments
            [str(venv / "bin" / "airflow"), "dags", "list-import-errors", "--local", "--output", "json"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    match = re.search(r"^\[.*\]\s*$", listed.stdout, re.MULTILINE | re.DOTALL)
    if match is None:
        if "No data found" in listed.stdout + listed.stderr:
            return []
        raise SystemExit(f"unreadable list-import-errors output:\n{listed.stdout}\n{listed.stderr}")
    errors: list[object] = json.loads(match.group(0))
    return errors


def test(releases: list[str]) -> dict[str, dict[str, float]]:
    """Install each release with its pins; run the tests of all of them side by side (they mostly
    wait on sandboxes, api-servers and polls, not on the CPU); parse the example DAGs with each.
    Returns the seconds each step took, per release."""
    report: dict[str, dict[str, float]] = {release: {} for release in releases}
    venvs = {}
    for release in releases:
        start = time.monotonic()
        venvs[release] = compat_venv(release)
        run(venvs[release] / "bin" / "python", "-c", "import airflow; print('Airflow', airflow.__version__)")
        report[release]["install"] = time.monotonic() - start
    logs = Path(tempfile.mkdtemp(prefix="altegio-compat-"))
    running = {}
    for release in releases:
        command = [str(venvs[release] / "bin" / "pytest"), "-p", "no:randomly", "--durations=10", *TEST_PATHS]
        print(f"+ {' '.join(command)}  (Airflow {release}, output below when all are done)", flush=True)
        with (logs / f"{release}.log").open("w") as log:
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        running[release] = (process, time.monotonic())
    codes = {}
    while len(codes) < len(running):
        for release, (process, start) in running.items():
            if release not in codes and process.poll() is not None:
                codes[release] = process.returncode
                report[release]["tests"] = time.monotonic() - start
        time.sleep(1)
    for release in releases:
        print(f"\n===== Airflow {release}: pytest {' '.join(TEST_PATHS)} =====", flush=True)
        sys.stdout.write((logs / f"{release}.log").read_text())
    shutil.rmtree(logs)
    failed = [release for release, code in codes.items() if code != 0]
    for release in releases:
        start = time.monotonic()
        errors = import_errors(venvs[release])
        report[release]["list-import-errors"] = time.monotonic() - start
        if errors:
            print(f"Airflow {release}: import errors in example_dags/: {json.dumps(errors, indent=2)}")
            failed.append(release)
        else:
            print(f"Airflow {release}: the example DAGs parse without import errors")
    _print_report("test", report)
    if failed:
        raise SystemExit(f"make test-compat failed on Airflow {', '.join(sorted(set(failed)))}")
    return report


def _print_report(command: str, report: dict[str, dict[str, float]]) -> None:
    for release, timings in report.items():
        print(f"{command} Airflow {release}: " + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()))


@contextlib.contextmanager
def sandbox(venv: Path) -> Iterator[str]:
    """``altegio-sandbox`` of the installed wheel on a free port; yields its base URL."""
    process = subprocess.Popen(  # noqa: S603 - the wheel's own command, fixed arguments
        [str(venv / "bin" / "altegio-sandbox"), "--port", "0", "--rps", "0", "--rpm", "0"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"altacolor=(\S+)", line)
        if found is None:
            raise SystemExit(f"the sandbox did not start: {line!r}")
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback sandbox
        data: dict[str, object] = json.load(response)
        return data


def wheel(release: str) -> dict[str, float]:
    """``pip install`` the built wheel beside ``release`` with its pins, then run
    ``airflow dags test altegio_write_off`` against the sandbox; the seconds each step took."""
    wheels = sorted((ROOT / "dist").glob("airflow_provider_altegio-*.whl"))
    if not wheels:
        raise SystemExit("no wheel in dist/: run make build first")
    timings: dict[str, float] = {}
    start = time.monotonic()
    venv = ROOT / f".venv-compat-wheel-{minor(release)}"
    shutil.rmtree(venv, ignore_errors=True)  # a user's fresh install, not an upgrade
    run(sys.executable, "-m", "venv", venv)
    run(
        venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "-c", pins_file(release), f"apache-airflow=={release}", wheels[-1],
    )  # fmt: skip
    timings["pip install"] = time.monotonic() - start
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="altegio-wheel-") as tmp, sandbox(venv) as base_url:
        dags = Path(tmp) / "dags"
        dags.mkdir()
        shutil.copy(ROOT / "example_dags" / "altegio_write_off.py", dags)
        env = isolated_env(Path(tmp) / "home", dags)
        env["AIRFLOW_CONN_ALTEGIO_DEFAULT"] = json.dumps(
            {
                "conn_type": "altegio",
                "host": f"{base_url}/api/v1",
                "extra": {
                    "partner_token": "sandbox-partner-token",
                    "user_token": "sandbox-user-token",
                    "location_id": 1001,
                    "master_id": 990101,
                    "rate_limit_store": "memory",
                },
            }
        )
        before = len(_get(f"{base_url}/_sandbox/state")["documents"])  # type: ignore[arg-type]
        run(venv / "bin" / "airflow", "db", "migrate", env=env, stdout=subprocess.DEVNULL)
        run(
            venv / "bin" / "airflow", "dags", "test", "altegio_write_off", "-c", json.dumps(WRITE_OFF_CONF),
            env=env,
        )  # fmt: skip
        documents = _get(f"{base_url}/_sandbox/state")["documents"]
    created = documents[before:]  # type: ignore[index]
    reason = WRITE_OFF_CONF["lines"][0]["reason"]  # type: ignore[index]
    if len(created) != 1 or reason not in str(created[0].get("comment", "")):
        raise SystemExit(f"expected one write-off document in the sandbox, found {created!r}")
    print(f"Airflow {release}: the wheel's write-off created the document {created[0].get('comment')!r}")
    timings["dags test"] = time.monotonic() - start
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["pins", "test", "wheel"])
    parser.add_argument("releases", nargs="+", choices=sorted(RELEASES))
    args = parser.parse_args(argv)
    if args.command == "pins":
        for release in args.releases:
            pins(release)
        return 0
    if args.command == "test":
        test(args.releases)
        return 0
    report = {}
    for release in args.releases:
        start = time.monotonic()
        report[release] = {**wheel(release), "total": time.monotonic() - start}
    _print_report("wheel", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
