"""deploy/ checked offline: every Kubernetes manifest against the Kubernetes schemas
(kubernetes-validate), the compose file against the compose spec (the JSON schema vendored in
check-jsonschema), and every command, setting and topic named there against the code."""

from __future__ import annotations

import json
import re
import shlex
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import typer
import yaml

from services.common.settings import Settings
from services.common.topics import all_topic_names
from services.ops.cli import app

DEPLOY = Path(__file__).parents[3] / "deploy"
K8S_FILES = sorted((DEPLOY / "k8s").glob("*.yaml"))
COMPOSE = DEPLOY / "docker-compose.yml"
KUBERNETES_VERSION = "1.31.0"


def _compose_spec() -> Path:
    """The compose-spec JSON schema that check-jsonschema vendors, found without importing that
    package (its CLI needs a newer click than typer pins)."""
    spec = find_spec("check_jsonschema")
    assert spec is not None and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder / "builtin_schemas" / "vendor" / "compose-spec.json"


COMPOSE_SPEC = _compose_spec()
ENV_NAME = re.compile(r"\bLUNAS_[A-Z0-9_]+\b")
TOPIC_NAME = re.compile(r"\b(?:payment|pickup|notifications)(?:\.[a-z]+)*(?:\.dlq)?\b")


def _k8s_docs() -> list[dict[str, Any]]:
    return [d for path in K8S_FILES for d in yaml.safe_load_all(path.read_text()) if d]


def _pod_specs() -> list[tuple[str, dict[str, Any]]]:
    return [
        (d["metadata"]["name"], d["spec"]["template"]["spec"])
        for d in _k8s_docs()
        if d["kind"] == "Deployment"
    ]


def _cli_check(args: list[str]) -> None:
    """Parse `lunas <args>` as the CLI would, without running it: unknown commands, bad choices
    (`serve nonsense`) and unknown options raise a click error."""
    command: Any = typer.main.get_command(app)
    rest = list(args)
    while rest and rest[0] in getattr(command, "commands", {}):
        command = command.commands[rest.pop(0)]
    assert not hasattr(command, "commands"), f"`lunas {' '.join(args)}` names no command"
    command.make_context("lunas", rest)


def test_there_are_manifests_to_check() -> None:
    kinds = {d["kind"] for d in _k8s_docs()}
    assert {"ConfigMap", "Deployment", "PodDisruptionBudget", "Service"} <= kinds


@pytest.mark.parametrize("doc", _k8s_docs(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_is_valid_against_the_kubernetes_schemas(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_validation_refuses_a_misspelt_field() -> None:
    doc = next(d for d in _k8s_docs() if d["kind"] == "Deployment")
    broken = json.loads(json.dumps(doc))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_pod_is_locked_down_probed_and_sized() -> None:
    specs = _pod_specs()
    assert {name for name, _ in specs} == {
        "lunas-payment",
        "lunas-pickup",
        "lunas-notify",
        "lunas-feed-api",
    }
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and isinstance(pod["runAsUser"], int), name
        for container in spec["containers"] + spec.get("initContainers", []):
            sec = container["securityContext"]
            assert sec["readOnlyRootFilesystem"] is True, name
            assert sec["allowPrivilegeEscalation"] is False, name
            assert sec["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            assert "memory" in container["resources"]["limits"], name
        (main,) = spec["containers"]
        assert main["livenessProbe"]["httpGet"]["path"] != main["readinessProbe"]["httpGet"]["path"]
        mounts = {m["mountPath"] for m in main["volumeMounts"]}
        assert "/tmp" in mounts, f"{name}: a read-only root needs a writable /tmp"


def test_the_feed_api_liveness_does_not_depend_on_redis() -> None:
    spec = dict(_pod_specs())["lunas-feed-api"]
    (main,) = spec["containers"]
    assert main["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_every_deployment_has_a_disruption_budget_and_migrations_rerun_per_rollout() -> None:
    docs = _k8s_docs()
    budgets = [
        d["spec"]["selector"]["matchLabels"] for d in docs if d["kind"] == "PodDisruptionBudget"
    ]
    for doc in (d for d in docs if d["kind"] == "Deployment"):
        assert doc["spec"]["template"]["metadata"]["labels"] in budgets, doc["metadata"]["name"]
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert not jobs, "a Job cannot be re-applied with a new image"
    specs = dict(_pod_specs())
    for name in ("lunas-payment", "lunas-pickup"):
        (init,) = specs[name]["initContainers"]
        assert init["args"] == ["migrate"]
        assert init["image"] == specs[name]["containers"][0]["image"]


def test_metrics_listen_on_the_pod_address_in_containers_and_on_loopback_elsewhere() -> None:
    (config,) = [d for d in _k8s_docs() if d["kind"] == "ConfigMap"]
    assert config["data"]["LUNAS_METRICS_HOST"] == "0.0.0.0"
    assert "LUNAS_METRICS_HOST=0.0.0.0" in (DEPLOY / "Dockerfile").read_text()
    assert Settings.model_fields["metrics_host"].default == "127.0.0.1"


def test_the_compose_file_is_valid_against_the_compose_spec() -> None:
    schema = json.loads(COMPOSE_SPEC.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema)
    compose = yaml.safe_load(COMPOSE.read_text())
    errors = sorted(validator.iter_errors(compose), key=str)
    assert not errors, [e.message for e in errors]
    broken = {**compose, "services": {**compose["services"], "x": {"restart": 3}}}
    assert not validator.is_valid(broken)


def _compose_commands() -> list[list[str]]:
    found = []
    for service in yaml.safe_load(COMPOSE.read_text())["services"].values():
        entrypoint, command = service.get("entrypoint"), service.get("command")
        if not command or "build" not in service:
            continue  # not the lunas image
        if entrypoint == ["sh", "-c"]:
            for part in command[0].split("&&"):
                words = shlex.split(part)
                assert words[0] == "lunas", part
                found.append(words[1:])
        else:
            found.append(list(command))
    return found


def test_every_lunas_command_named_in_deploy_is_a_real_command() -> None:
    commands = _compose_commands()
    for doc in _k8s_docs():
        if doc["kind"] == "Deployment":
            spec = doc["spec"]["template"]["spec"]
            commands += [c["args"] for c in spec["containers"] + spec.get("initContainers", [])]
    assert ["serve", "feed-api"] in commands and ["migrate"] in commands and ["topics"] in commands
    for args in commands:
        _cli_check(args)
    with pytest.raises(typer.BadParameter):
        _cli_check(["serve", "billing"])


def test_every_setting_named_in_deploy_is_a_settings_field() -> None:
    fields = set(Settings.model_fields)
    named = set()
    for path in [*K8S_FILES, COMPOSE, DEPLOY / "Dockerfile"]:
        named |= set(ENV_NAME.findall(path.read_text()))
    assert len(named) > 10
    unknown = sorted(n for n in named if n.removeprefix("LUNAS_").lower() not in fields)
    assert not unknown, f"not a setting: {unknown}"


def test_the_topics_named_in_deploy_are_the_contract_topics() -> None:
    named = set()
    for path in [*K8S_FILES, COMPOSE]:
        named |= set(TOPIC_NAME.findall(path.read_text()))
    dotted = {n for n in named if "." in n or n == "notifications"}
    assert dotted == set(all_topic_names())
