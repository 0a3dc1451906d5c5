"""The deployment files: docker-compose.yml, Procfile, Dockerfile and .env.example.

Docker cannot run here, so the compose file is parsed and checked: it is
valid against the Compose Specification's JSON schema (``docker compose config``
too when Docker Compose is installed), every service's command is a real
``toky-ghl`` command (parsed by the CLI's own parser), Redis persists and never
evicts, every service has a healthcheck, secrets come only from the env file,
which documents every variable; the monitoring profile's files exist and agree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from cli.main import build_parser
from toky_ghl.settings import OPTIONS, Settings

REPO = Path(__file__).resolve().parents[2]
SECRET_VARIABLES = {f.name.upper() for f in fields(Settings) if not f.repr}
APP_SERVICES = ("worker", "poller", "mirror", "webhook", "flower", "metrics")
MONITORING = ("prometheus", "alertmanager", "grafana")
#: The Compose Specification's schema, from github.com/compose-spec/compose-spec
#: (schema/compose-spec.json at commit 170098ba07d9, Apache-2.0), kept as it is.
COMPOSE_SCHEMA = REPO / "tests" / "unit" / "compose_spec.json"


def parse_toky_ghl(argv: list[str]):
    """Parse ``toky-ghl ARGV`` as the console script does; fail on anything it would refuse."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit:
        pytest.fail(f"`toky-ghl {' '.join(argv)}` is not a valid command line")
    assert args.command is not None, argv
    assert not extra or getattr(args, "accepts_extra", False), (argv, extra)
    return args


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_every_app_service_runs_a_real_toky_ghl_command(compose):
    services = compose["services"]
    assert set(APP_SERVICES) <= set(services)
    commands = {}
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"] == ".", name  # the Dockerfile, whose ENTRYPOINT is toky-ghl
        commands[name] = parse_toky_ghl(service["command"]).command
    assert commands == {"worker": "worker", "poller": "poll", "mirror": "mirror",
                        "webhook": "webhook",
                        "flower": "flower", "metrics": "metrics"}


def test_the_compose_file_is_valid_against_the_compose_specification(compose):
    import jsonschema

    validator = jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text()))
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    # the check catches a misspelt key (not everything passes)
    broken = {**compose, "services": {**compose["services"],
                                      "grafana": {**compose["services"]["grafana"],
                                                  "profile": ["monitoring"]}}}
    assert list(validator.iter_errors(broken))


def _compose_command() -> list[str] | None:
    """Docker Compose v2 (``docker compose``) or v1 (Debian's ``docker-compose``)."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"],
                                 capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file(tmp_path):
    compose = _compose_command()
    if compose is None:
        message = "Docker Compose is not installed (apt-get install -y docker-compose)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: .ci/run installs it; required in CI")
        pytest.skip(f"{message}; the schema check above ran")
    # The project directory holds the (empty) .env the services' env_file names.
    (tmp_path / ".env").write_text("")
    for name in ("deploy", "docker-compose.yml"):
        (tmp_path / name).symlink_to(REPO / name)

    def config(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run([*compose, "-f", str(path), "--project-directory", str(tmp_path),
                               "--env-file", str(tmp_path / ".env"), "--profile", "monitoring",
                               "config", "--quiet"],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)

    result = config(REPO / "docker-compose.yml")
    assert result.returncode == 0, result.stderr
    # and Compose itself refuses a misspelt key (the check is not a formality)
    broken = tmp_path / "broken.yml"
    broken.write_text((REPO / "docker-compose.yml").read_text().replace(
        "profiles:", "profile:", 1))
    assert config(broken).returncode != 0


def test_the_monitoring_profile_loads_the_rules_the_dashboard_and_scrapes_the_exporter(compose):
    services = compose["services"]
    for name in MONITORING:
        assert services[name]["profiles"] == ["monitoring"], name
    assert "profiles" not in services["metrics"]  # the exporter runs in every deployment
    # every file a monitoring service mounts is in the repository
    mounts = {}
    for name in MONITORING:
        for volume in services[name]["volumes"]:
            source, target = volume.split(":")[:2]
            if source.startswith("./"):
                assert (REPO / source).exists(), volume
                mounts[target] = REPO / source
    prometheus = yaml.safe_load(mounts["/etc/prometheus/prometheus.yml"].read_text())
    assert mounts[prometheus["rule_files"][0]] == REPO / "deploy/prometheus/alerts.yml"
    targets = {job["job_name"]: job["static_configs"][0]["targets"]
               for job in prometheus["scrape_configs"]}
    metrics_args = parse_toky_ghl(services["metrics"]["command"])
    flower_args = parse_toky_ghl(services["flower"]["command"])
    assert targets == {"toky-ghl": [f"metrics:{metrics_args.port}"],
                       "flower": [f"flower:{flower_args.port}"]}
    assert metrics_args.address == "0.0.0.0"
    alertmanager = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanager == ["alertmanager:9093"]
    # Grafana: the datasource is that Prometheus, the dashboard is provisioned from its mount
    provisioning = mounts["/etc/grafana/provisioning"]
    datasource = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((provisioning / "dashboards/toky-ghl.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    dashboard = mounts[f"{path}/toky-ghl.json"]
    panels = json.loads(dashboard.read_text())["panels"]
    uid = datasource["datasources"][0]["uid"]
    assert all(p["datasource"]["uid"] == uid for p in panels if p["type"] != "row")
    # Grafana's password comes from .env only
    assert services["grafana"]["env_file"] == [".env"]
    assert "GF_SECURITY_ADMIN_PASSWORD" not in (services["grafana"].get("environment") or {})


def test_the_alertmanager_config_is_valid():
    amtool = shutil.which("amtool")
    if amtool is None:
        if os.environ.get("CI"):
            pytest.fail("amtool is missing: .ci/run installs Debian's prometheus-alertmanager")
        pytest.skip("amtool (Debian's prometheus-alertmanager) is not installed; required in CI")
    result = subprocess.run([amtool, "check-config",
                             str(REPO / "deploy/alertmanager/alertmanager.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_toky_ghl_as_a_non_root_user():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r'^ENTRYPOINT \["toky-ghl"\]$', dockerfile, re.M)
    assert re.search(r"^RUN pip install \.", dockerfile, re.M)
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    parse_toky_ghl(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1).strip('[]"').split())


def test_redis_persists_and_never_evicts_celery_keys(compose):
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "redis-data" in compose["volumes"]


def test_every_service_has_a_healthcheck_on_the_right_probe(compose):
    services = compose["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    probe = {name: " ".join(services[name]["healthcheck"]["test"]) for name in services}
    assert "inspect ping" in probe["worker"]
    assert "/healthz" in probe["webhook"]
    assert "/healthcheck" in probe["flower"]
    assert "toky-ghl status" in probe["poller"]
    assert "toky-ghl status" in probe["mirror"]
    # every `toky-ghl ...` probe is a real command too
    for name, text in probe.items():
        for argv in re.findall(r"toky-ghl ((?:[\w-]+ ?)+)", text):
            parse_toky_ghl(argv.split())


def test_workers_have_replicas_and_the_receivers_publish_their_ports(compose):
    services = compose["services"]
    assert services["worker"]["deploy"]["replicas"] >= 2
    webhook_args = parse_toky_ghl(services["webhook"]["command"])
    flower_args = parse_toky_ghl(services["flower"]["command"])
    assert (webhook_args.host, flower_args.address) == ("0.0.0.0", "0.0.0.0")
    assert any(p.endswith(f":{webhook_args.port}") for p in services["webhook"]["ports"])
    assert any(p.endswith(f":{flower_args.port}") for p in services["flower"]["ports"])
    assert not flower_args.unauthenticated


def test_secrets_come_only_from_the_env_file(compose):
    text = (REPO / "docker-compose.yml").read_text()
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["env_file"] == [".env"], name
        assert not SECRET_VARIABLES & set(service.get("environment") or {}), name
    for secret in SECRET_VARIABLES:
        assert not re.search(rf"^\s*-?\s*{secret}\s*[:=]", text, re.M), secret
    assert ".env" in (REPO / ".gitignore").read_text().split()


def _variables_read_by_settings() -> set[str]:
    return {opt.env for opt in OPTIONS}


def test_env_example_documents_every_variable_without_secret_values():
    example = (REPO / ".env.example").read_text()
    documented = dict(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=(.*)$", example, re.M))
    read = _variables_read_by_settings()
    assert {"REDIS_URL", "GHL_TOKEN", "FLOWER_BASIC_AUTH", "LOG_LEVEL"} <= read
    assert sorted(read - set(documented)) == [], "variables missing from .env.example"
    for secret in SECRET_VARIABLES:
        assert documented.get(secret, "") == "", f"{secret} has a value in .env.example"


def test_the_procfile_runs_the_same_processes_with_real_commands():
    lines = [line for line in (REPO / "Procfile").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    processes = dict(line.split(": ", 1) for line in lines)
    assert set(processes) == {"web", "worker", "poller", "flower", "mirror", "metrics"}
    commands = {}
    for name, command in processes.items():
        argv = re.sub(r"\$\{PORT:-(\d+)\}", r"\1", command).split()
        assert argv[0] == "toky-ghl", name
        commands[name] = parse_toky_ghl(argv[1:]).command
    assert commands == {"web": "webhook", "worker": "worker", "poller": "poll",
                        "mirror": "mirror",
                        "flower": "flower", "metrics": "metrics"}


def test_the_dashboard_is_a_grafana_dashboard_grafana_can_lay_out():
    dashboard = json.loads((REPO / "deploy/grafana/toky-ghl.json").read_text())
    assert dashboard["uid"] == "toky-ghl" and dashboard["title"]
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["type"] in {"timeseries", "stat", "table", "bargauge"}, panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        assert all(t["expr"].strip() for t in panel["targets"]), panel["title"]
    # no two panels overlap
    cells = set()
    for panel in panels:
        pos = panel["gridPos"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))
    # the rows the issue asks for
    rows = {p["title"] for p in panels if p["type"] == "row"}
    assert rows == {"Throughput and lag", "Outcomes", "GHL", "Queue and parked events",
                    "Dead letters", "Webhooks and pollers"}
