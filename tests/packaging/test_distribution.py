"""The distributions as users get them: what PyPI shows, what the sdist carries, and the wheel
installed alone (no dev dependencies) into a fresh virtualenv running an example DAG against the
sandbox."""

from __future__ import annotations

import email
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")
READY = re.compile(
    r"^sandbox ready altegio=(?P<altegio>\S+) altacolor=(?P<altacolor>\S+) locations=(?P<ids>\S+)$"
)

pytestmark = pytest.mark.integration


def _run(*command: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=600, check=False, **kwargs
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and the sdist, built as ``make build`` builds them."""
    out = tmp_path_factory.mktemp("dist")
    _run(
        UV, "build", "--quiet", "--build-constraints", REPO / "build-constraints.txt", "--out-dir", out, REPO
    )
    return out


def _metadata(dist: Path) -> email.message.Message:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(archive.read(name))


def test_pypi_page_starts_with_install_and_has_only_absolute_links(dist: Path) -> None:
    description = _metadata(dist).get_payload()
    assert isinstance(description, str)
    assert description.index("## Install") < description.index("## A first DAG")
    assert "make test" not in description  # the contributors' part stays on GitHub
    links = re.findall(r"\]\(([^)]+)\)", description)
    assert links
    assert all(link.startswith("https://") for link in links), links


def test_wheel_metadata_is_what_the_official_providers_publish(dist: Path) -> None:
    from airflow_provider_altegio import __version__

    meta = _metadata(dist)
    assert meta["Version"] == __version__
    assert meta["License-Expression"] == "Apache-2.0"
    assert not [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    # What users install: no dev tools (those are dependency groups).
    assert sorted(meta.get_all("Provides-Extra") or []) == ["examples", "openlineage", "redis", "sandbox"]
    assert not [r for r in meta.get_all("Requires-Dist") or [] if "pytest" in r or "ruff" in r]
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL") or [])
    assert urls["Bug Tracker"].endswith("/issues")
    assert {"Documentation", "Source", "Changelog"} <= set(urls)


@pytest.mark.parametrize("page", ["README.md", "docs/getting-started.md"])
def test_the_install_from_a_clone_names_the_wheel_make_build_writes(dist: Path, page: str) -> None:
    text = (REPO / page).read_text()
    assert "make build" in text
    pattern = re.search(r"^pip install dist/(\S+\.whl)$", text, flags=re.M)
    assert pattern, page
    (wheel,) = dist.glob("*.whl")
    assert fnmatch.fnmatch(wheel.name, pattern.group(1))


def test_wheel_carries_the_licence_and_no_pytest_entry_point(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert "apache_airflow_provider" in entry_points
    assert "pytest11" not in entry_points  # the sandbox plugin is opt-in


def test_sdist_carries_what_make_test_needs(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    needed = {"Makefile", "constraints.txt", "build-constraints.txt", "mkdocs.yml", "LICENSE", "CHANGELOG.md"}
    needed |= {
        "CONTRIBUTING.md",
        "docs/assets/javascripts/mermaid.min.js",
        "docs/images/connections/altegio-form.json",
    }
    assert needed <= names
    assert {"tests/conftest.py", "scripts/demo.py", "example_dags/altegio_write_off.py"} <= names


@pytest.fixture(scope="module")
def wheel_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and its runtime dependencies only (pinned)."""
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    _run(UV, "venv", "--quiet", "--python", sys.executable, venv)
    (wheel,) = dist.glob("*.whl")
    python = venv / "bin" / "python"
    _run(UV, "pip", "install", "--quiet", "--python", python, "-c", REPO / "constraints.txt", wheel)
    return venv


@pytest.fixture
def sandbox_of(wheel_venv: Path) -> Iterator[dict[str, str]]:
    """The installed package's own ``altegio-sandbox``, until the test ends."""
    process = subprocess.Popen(
        [wheel_venv / "bin" / "altegio-sandbox", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        match = READY.match(line.strip())
        assert match, line
        yield match.groupdict()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_wheel_alone_runs_an_example_dag(
    wheel_venv: Path, sandbox_of: dict[str, str], tmp_path: Path
) -> None:
    freeze = _run(UV, "pip", "freeze", "--python", wheel_venv / "bin" / "python").stdout
    installed = {line.split("==")[0].lower() for line in freeze.splitlines()}
    assert not installed & {"pytest", "ruff", "mypy", "respx"}  # no dev dependency came along
    # Nor the optional OpenLineage provider: the operators run without it (their lineage
    # methods import it only when Airflow's OpenLineage listener calls them).
    assert not installed & {"apache-airflow-providers-openlineage", "openlineage-python"}
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(REPO / "example_dags" / "altegio_write_off.py", dags)
    location = int(sandbox_of["ids"].split(",")[0])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST"))}
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path / "home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_ALTEGIO_DEFAULT": json.dumps(
                {
                    "conn_type": "altegio",
                    "host": sandbox_of["altegio"],
                    "extra": {
                        "partner_token": "sandbox-partner-token",
                        "user_token": "sandbox-user-token",
                        "master_id": 990101,  # the sandbox's team member: who books the documents
                    },
                }
            ),
        }
    )
    airflow = wheel_venv / "bin" / "airflow"
    _run(airflow, "db", "migrate", env=env)
    conf = {"location_id": location, "lines": [{"article": "NOR-SH-00001", "amount": 1, "reason": "broken"}]}
    result = _run(airflow, "dags", "test", "altegio_write_off", "--conf", json.dumps(conf), env=env)
    output = result.stdout + result.stderr
    assert re.search(r"DagRun Finished: dag_id=altegio_write_off, .*state=success", output), output[-3000:]
    assert "Created write_off document" in output


#: The port the documentation's commands use; the test runs them on a free one instead.
DOCUMENTED_PORT = "8787"


def _on_a_free_port(commands: str, output: Path) -> str:
    """The documented commands with their port replaced by a free one, and a wait after the
    background sandbox: the next command runs only once *that* sandbox printed its ready line
    (into ``output``, the script's stdout), and the script fails at once if it exited instead."""
    port = str(free_port())
    assert f"altegio-sandbox --port {DOCUMENTED_PORT} &" in commands
    lines = []
    for line in commands.replace(f":{DOCUMENTED_PORT}", f":{port}").splitlines():
        lines.append(line.replace(f"--port {DOCUMENTED_PORT}", f"--port {port}"))
        if line.startswith("altegio-sandbox "):
            lines.append(
                f"for _ in $(seq 600); do grep -q 'altegio=http://127.0.0.1:{port}/' {output} && break;"
                " kill -0 $! 2>/dev/null || { echo 'altegio-sandbox exited' >&2; exit 1; }; sleep 0.1; done;"
                f" grep -q 'altegio=http://127.0.0.1:{port}/' {output}"
            )
    script = "\n".join(lines)
    assert DOCUMENTED_PORT not in script
    return script


def test_getting_started_without_a_salon_runs_verbatim(wheel_venv: Path, tmp_path: Path) -> None:
    """The getting-started page's sandbox commands, as printed but on a free port, with the first
    DAG in the DAGs folder (as the page says), in a new Airflow home."""
    page = (REPO / "docs" / "getting-started.md").read_text()
    section = page.split("## Trying it without a salon", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(REPO / "docs" / "examples" / "first_dag.py", dags)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST"))}
    env.update(
        {
            "PATH": f"{wheel_venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(tmp_path / "home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
    )
    stdout = tmp_path / "stdout.txt"
    # The page starts the sandbox in the background: stop it when the commands are done.
    script = f"set -e\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n{_on_a_free_port(match.group(1), stdout)}"
    with stdout.open("w") as out:
        result = subprocess.run(
            ["bash", "-c", script],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=600,
            check=False,
        )
    output = stdout.read_text() + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert re.search(r"DagRun Finished: dag_id=first_dag, .*state=success", output), output[-3000:]
