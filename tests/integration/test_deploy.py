"""The deployment files: docker-compose.yml parsed and checked for consistency
(there is no Docker engine on the build machines), and `deploy/cluster.sh`,
the same topology as processes, started for real."""
import os
import re
import subprocess

import requests
import yaml

from nexu_server import free_port_block, nexu_binary

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def load_compose():
    with open(os.path.join(ROOT, "docker-compose.yml")) as f:
        return yaml.safe_load(f)


def test_compose_has_nginx_two_replicas_redis_shared_data_and_a_key_secret():
    compose = load_compose()
    services = compose["services"]
    replicas = {name: s for name, s in services.items() if name.startswith("nexu-")}
    assert len(replicas) >= 2
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


def test_cluster_script_runs_nginx_over_two_instances_and_stops_by_pid(tmp_path):
    port = free_port_block(10)  # nginx, two instances, redis at +9
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
        assert instances == {"nexu-1", "nexu-2"}
        pids = [int(open(tmp_path / "pids" / name).read()) for name in os.listdir(tmp_path / "pids")]
        assert len(pids) == 4  # nginx, redis, two nexu
        assert sorted(os.listdir(tmp_path / "logs"))[:2] == ["app-nexu-1.log", "app-nexu-2.log"]
    finally:
        stopped = subprocess.run([script, "stop", "--dir", str(tmp_path)], capture_output=True,
                                 text=True, timeout=60)
    assert stopped.returncode == 0
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
