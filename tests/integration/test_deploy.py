"""The deployment files: docker-compose.yml parsed and checked for consistency
(there is no Docker engine on the build machines), and `deploy/cluster.sh`,
the same topology as processes, started for real."""
import os
import re
import subprocess

import requests
import yaml

from nexu_server import NexuServer, free_port_block, nexu_binary

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def load_compose():
    with open(os.path.join(ROOT, "docker-compose.yml")) as f:
        return yaml.safe_load(f)


def test_compose_has_nginx_three_replicas_redis_shared_data_and_a_key_secret():
    compose = load_compose()
    services = compose["services"]
    replicas = {name: s for name, s in services.items() if name.startswith("nexu-")}
    assert sorted(replicas) == ["nexu-1", "nexu-2", "nexu-3"]
    assert set(services["nginx"]["depends_on"]) >= set(replicas)
    assert {"nginx", "redis"} <= set(services)
    declared_volumes = set(compose["volumes"])
    declared_secrets = set(compose["secrets"])
    data_volumes, state_volumes, instance_ids = set(), set(), set()
    for name, service in replicas.items():
        assert service["build"] == "."
        assert "healthcheck" in service and service["healthcheck"]["test"]
        assert "nexu_master_key" in service["secrets"]
        env = service["environment"]
        assert env["NEXU_KEY_FILE"] == "/run/secrets/nexu_master_key"
        assert env["NEXU_REDIS_URL"].startswith("redis://redis:")
        assert "{instance}" in env["NEXU_LOG_FILE"]  # never one shared log file
        instance_ids.add(env["NEXU_INSTANCE_ID"])
        mounts = {}  # target in the container -> named volume
        for volume in service["volumes"]:
            source, target = volume.split(":")[:2]
            mounts[target] = source
        for target, source in mounts.items():
            assert source in declared_volumes, f"{name} mounts undeclared volume {source}"
        data_volumes.add(mounts[env["NEXU_DATA_DIR"]])
        state_volumes.add(mounts[env["NEXU_STATE_DIR"]])
        assert env["NEXU_LOGS_DIR"] in mounts
    assert len(data_volumes) == 1, "every replica must share one data volume"
    assert len(state_volumes) == len(replicas), "state is per instance"
    assert len(instance_ids) == len(replicas)
    for secret in declared_secrets:
        assert "file" in compose["secrets"][secret]
    for service in services.values():
        assert "healthcheck" in service

    nginx_conf_path = services["nginx"]["volumes"][0].split(":")[0]
    nginx_conf = open(os.path.join(ROOT, nginx_conf_path)).read()
    for name in replicas:
        assert re.search(rf"server {name}:8080", nginx_conf), f"nginx does not balance to {name}"
    assert "proxy_set_header Upgrade" in nginx_conf


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck():
    text = open(os.path.join(ROOT, "Dockerfile")).read()
    assert len(re.findall(r"^FROM ", text, re.M)) == 2
    assert re.search(r"^FROM debian:12 AS build", text, re.M)
    assert re.search(r"^USER nexu$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*\/health", text, re.M)


def test_cluster_script_runs_nginx_over_three_instances_and_stops_by_pid(tmp_path):
    port = free_port_block(10)  # nginx, three instances (the default), redis at +9
    bin_dir = os.path.dirname(nexu_binary())
    script = os.path.join(ROOT, "deploy", "cluster.sh")
    args = ["--dir", str(tmp_path), "--port", str(port), "--bin", bin_dir]
    started = subprocess.run([script, "start", *args], capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        instances = set()
        for _ in range(20):
            response = requests.get(f"http://127.0.0.1:{port}/health", timeout=5)
            assert response.status_code == 200
            instances.add(response.json()["instance"])
        assert instances == {"nexu-1", "nexu-2", "nexu-3"}
        # nginx does not publish /metrics; each instance serves its own.
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404
        for i in (1, 2, 3):
            scraped = requests.get(f"http://127.0.0.1:{port + i}/metrics", timeout=5)
            assert scraped.status_code == 200 and f'instance="nexu-{i}"' in scraped.text
        pids = [int(open(tmp_path / "pids" / name).read()) for name in os.listdir(tmp_path / "pids")]
        assert len(pids) == 5  # nginx, redis, three nexu
        logs = sorted(os.listdir(tmp_path / "logs"))
        assert [name for name in logs if name.startswith("app-")][:3] == \
            ["app-nexu-1.log", "app-nexu-2.log", "app-nexu-3.log"]
    finally:
        stopped = subprocess.run([script, "stop", "--dir", str(tmp_path)], capture_output=True,
                                 text=True, timeout=60)
    assert stopped.returncode == 0
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_compose_nginx_config_passes_nginx_t(tmp_path):
    """nginx -t on deploy/nginx.compose.conf, the replica names pointed at 127.0.0.1
    (they only resolve on the compose network)."""
    text = open(os.path.join(ROOT, "deploy", "nginx.compose.conf")).read()
    assert "proxy_set_header Connection $connection_upgrade" in text
    assert re.search(r"proxy_next_upstream_tries \d+;", text)
    assert re.search(r"location = /metrics \{\s*return 404;", text)
    local = re.sub(r"server nexu-(\d):8080", r"server 127.0.0.1:1808\1", text)
    local = local.replace("listen 80;", "listen 127.0.0.1:1;")
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(local)
    checked = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", "nginx.conf",
                              "-e", str(tmp_path / "logs" / "error.log"),
                              "-g", "pid %s;" % (tmp_path / "nginx.pid")],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr


def _metric_names(expr):
    """Metric names in a PromQL expression (not functions, labels or keywords)."""
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    names = set(re.findall(r"\b([a-z_][a-z0-9_]*)\b(?!\s*\()", expr))
    keywords = {"by", "without", "sum", "rate", "le", "route", "instance", "and", "or", "unless",
                "on", "ignoring", "group_left", "group_right", "histogram_quantile", "e9",
                "max", "increase", "job"}
    return {name for name in names if name not in keywords and not name.isdigit()}


def test_prometheus_example_scrapes_every_replica_and_alerts_on_real_metrics():
    """promtool (Debian's prometheus package, ~96 MB installed) is too large for
    the test profile, so the structure promtool would check is checked here, and
    every metric an alert uses must exist in a real scrape of the binary."""
    compose = load_compose()
    replicas = sorted(name for name in compose["services"] if name.startswith("nexu-"))
    with open(os.path.join(ROOT, "deploy", "prometheus.yml")) as f:
        config = yaml.safe_load(f)
    assert set(config) <= {"global", "rule_files", "scrape_configs", "alerting"}
    duration = re.compile(r"^\d+(ms|s|m|h)$")
    for key in ("scrape_interval", "scrape_timeout", "evaluation_interval"):
        assert duration.match(config["global"][key]), key
    jobs = config["scrape_configs"]
    assert len({job["job_name"] for job in jobs}) == len(jobs)
    [job] = jobs
    assert job["metrics_path"] == "/metrics" and job["scheme"] == "http"
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    assert sorted(targets) == [f"{name}:8080" for name in replicas]  # direct, never nginx
    prometheus = compose["services"]["prometheus"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in prometheus["volumes"] if v.startswith("./")}
    assert mounted["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus.yml"

    rule_names = set()
    used = set()
    for rule_file in config["rule_files"]:
        assert mounted["/etc/prometheus/" + rule_file] == "./deploy/" + rule_file
        with open(os.path.join(ROOT, "deploy", rule_file)) as f:
            rules = yaml.safe_load(f)
        for group in rules["groups"]:
            assert group["name"]
            for rule in group["rules"]:
                assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
                assert rule["alert"] not in rule_names
                rule_names.add(rule["alert"])
                assert duration.match(rule["for"])
                assert rule["expr"].count("(") == rule["expr"].count(")")
                assert rule["annotations"]["summary"]
                used |= _metric_names(rule["expr"])
    assert len(rule_names) >= 5

    with NexuServer() as server:
        scrape = requests.get(server.base + "/metrics", timeout=5).text
    families = set(re.findall(r"^# TYPE (\S+) ", scrape, re.M))
    series = families | {f + suffix for f in families for suffix in ("_bucket", "_sum", "_count")}
    # Made on first use: the rejection counter is labelled by the limit that refused;
    # job runs and integrity findings appear after the first run.
    lazy = {"nexu_rate_limit_rejections_total", "nexu_job_runs_total", "nexu_integrity_findings"}
    missing = {name for name in used if name not in series and name not in lazy and name != "up"}
    assert not missing, missing
