"""The deployment files parse and say what the runbook says: docker-compose.yml (YAML), fly.toml
(TOML), the CI workflow, the Dockerfile and .env.example."""

import itertools
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_docker_compose_has_the_stack_with_health_checks_and_the_env_file():
    services = compose()["services"]
    assert {"postgres", "redis", "mailhog", "stripe-cli", "app", "worker"} <= set(services)
    for name in ("postgres", "redis", "mailhog", "app", "worker"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("app", "worker", "migrate"):
        env_files = [f["path"] for f in services[name]["env_file"]]
        assert env_files[0] == ".env.example", name
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql://")
        assert services[name]["environment"]["SMTP_URL"] == "smtp://mailhog:1025"
    assert "doktu serve" in " ".join(services["app"]["command"])
    assert services["app"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services["worker"]["command"] == ["doktu", "worker"]
    assert "doktu db upgrade" in " ".join(services["migrate"]["command"])
    for name in ("app", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert "/api/payment/webhook" in " ".join(services["stripe-cli"]["command"])


def test_compose_publishes_ports_on_this_machine_only():
    """Development settings (demo password, MailHog's every email) are not safe to expose (issue 23)."""
    published = {name: service.get("ports", []) for name, service in compose()["services"].items()}
    assert published["app"] and published["mailhog"]
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_env_example_names_only_settings_the_app_reads():
    names = [line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert len(names) == len(set(names))
    read = set(re.findall(r'get\("([A-Z0-9_]+)"\)', (ROOT / "core" / "config.py").read_text()))
    assert set(names) - read == {"STRIPE_API_KEY"}  # the Stripe CLI's, not the app's
    assert {"SECRET_KEY", "DOKTU_ENV", "SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "STRIPE_WEBHOOK_SECRET"} <= set(names)


def test_fly_toml_deploys_app_and_worker_blue_green_after_migrating():
    fly = tomllib.loads((ROOT / "fly.toml").read_text())
    assert fly["primary_region"] == "fra"
    assert fly["processes"]["app"].startswith("doktu serve") and fly["processes"]["worker"] == "doktu worker"
    assert fly["deploy"] == {**fly["deploy"], "strategy": "bluegreen", "release_command": "doktu db upgrade"}
    service = fly["http_service"]
    assert service["processes"] == ["app"] and service["internal_port"] == 8000 and service["force_https"]
    assert [check["path"] for check in service["checks"]] == ["/readyz"]
    assert fly["env"]["DOKTU_ENV"] == "production" and fly["env"]["PROXY_HOPS"] == "1"
    assert {vm["processes"][0] for vm in fly["vm"]} == {"app", "worker"}


def test_the_ci_workflow_runs_the_stages_in_order_and_waits_for_approval_to_promote():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    jobs = workflow["jobs"]
    chain = ["lint", "test", "e2e", "docker", "deploy-staging", "promote"]
    assert list(jobs) == chain
    for before, after in itertools.pairwise(chain):
        assert jobs[after]["needs"] == before
    assert jobs["promote"]["name"] == "Promote → prod" and jobs["promote"]["environment"]["name"] == "production"
    staging = " ".join(step.get("run", "") for step in jobs["deploy-staging"]["steps"])
    assert "--strategy bluegreen" in staging and "doktu-staging" in staging
    promote = " ".join(step.get("run", "") for step in jobs["promote"]["steps"])
    assert "--image registry.fly.io/doktu-staging:${{ github.sha }}" in promote
    # Each test stage is a stage of .ci/run, the script developers run: the same gates everywhere.
    stages = {name: " ".join(step["run"] for step in jobs[name]["steps"] if "run" in step)
              for name in ("lint", "test", "e2e")}
    assert stages == {"lint": "bash .ci/run lint", "test": "bash .ci/run unit", "e2e": "bash .ci/run e2e"}
    script = (ROOT / ".ci" / "run").read_text()
    assert "chromium" in script and "pages.py --budget" in script and "lint-imports" in script


def test_the_image_is_slim_and_runs_as_a_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.findall(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert re.search(r"^USER doktu$", dockerfile, re.M)
    assert 'CMD ["doktu", "serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests", ".env"} <= set(ignored)
