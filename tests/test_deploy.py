"""Deployment files: the Dockerfile's structure and the Rancher 1.x catalog template.

No Docker engine runs here, so the image is not built; these tests check what can be checked
without one: the Dockerfile's instructions, and that the catalog files parse and agree with
each other and with the command's own flags.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, ROOT

CATALOG = ROOT / "deploy" / "rancher-catalog" / "templates" / "octodns-rancher"
VERSION_DIR = CATALOG / "0"
# Read by git, ssh or octoDNS's providers rather than by octodns-rancher itself.
FOREIGN_ENV = {"GIT_SSH_COMMAND", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_is_slim_non_root_and_has_no_secrets() -> None:
    steps = instructions(ROOT / "Dockerfile")
    assert steps[0] == ("FROM", "python:3.11-slim")
    users = [args for op, args in steps if op == "USER"]
    assert users, "the image must switch to an unprivileged user"
    assert users[-1].split(":")[0] not in ("root", "0")
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert re.search(r"apt-get install .*\bgit\b", runs)
    assert dict(steps)["ENTRYPOINT"] == '["octodns-rancher"]'
    assert dict(steps)["CMD"] == '["watch"]'
    secretish = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL)", re.I)
    for op, args in steps:
        if op in ("ENV", "ARG"):
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split()[0]]
            assert not [n for n in names if secretish.search(n)], f"{op} {args}"
        if op in ("COPY", "ADD"):
            assert not re.search(r"\.ssh|id_rsa|id_ed25519|\.pem|\.env\b", args), args
            for src in args.split()[:-1]:
                assert (ROOT / src).exists(), f"COPY source {src} missing"
    exposed = [args for op, args in steps if op == "EXPOSE"]
    assert exposed == ["7979"]


def render(template: str, values: dict[str, str]) -> str:
    """The two Go-template forms the catalog file uses: ``{{ .Values.X }}`` and ``if``/``end``."""

    def conditional(m: re.Match[str]) -> str:
        return m.group(2) if values.get(m.group(1)) else ""

    pattern = re.compile(r"\{\{-? if \.Values\.(\w+) \}\}(.*?)\{\{-? end \}\}", re.S)
    text = pattern.sub(conditional, template)
    text = re.sub(r"\{\{ \.Values\.(\w+) \}\}", lambda m: values.get(m.group(1), ""), text)
    assert "{{" not in text, "template construct the test renderer does not know"
    return text


@pytest.fixture(scope="module")
def catalog() -> dict:
    return yaml.safe_load((VERSION_DIR / "rancher-compose.yml").read_text())


def test_catalog_questions(catalog: dict) -> None:
    meta = yaml.safe_load((CATALOG / "config.yml").read_text())
    assert meta["name"] and meta["version"] == catalog[".catalog"]["version"]
    questions = {q["variable"]: q for q in catalog[".catalog"]["questions"]}
    for needed in (
        "ROOT_DOMAIN",
        "TTL",
        "NAME_TEMPLATE",
        "GIT_REPOSITORY",
        "DEPLOY_KEY_SECRET",
        "GIT_BRANCH",
        "WATCH_MODE",
    ):
        assert needed in questions, needed
    assert questions["WATCH_MODE"]["options"] == ["gitops", "apply"]
    assert questions["ROOT_DOMAIN"]["required"] is True
    assert questions["AWS_SECRET_ACCESS_KEY"]["type"] == "password"


def test_every_question_is_used_and_every_variable_asked(catalog: dict) -> None:
    template = (VERSION_DIR / "docker-compose.yml.tpl").read_text()
    asked = {q["variable"] for q in catalog[".catalog"]["questions"]}
    used = set(re.findall(r"\$\{(\w+)\}", template)) | set(re.findall(r"\.Values\.(\w+)", template))
    assert asked - used == set(), "questions not used in docker-compose.yml.tpl"
    assert used - asked == set(), "variables in docker-compose.yml.tpl that no question sets"


@pytest.mark.parametrize("with_secrets", [True, False])
def test_compose_renders_to_valid_yaml(catalog: dict, with_secrets: bool) -> None:
    questions = catalog[".catalog"]["questions"]
    values = {q["variable"]: str(q.get("default", "x")) for q in questions}
    if with_secrets:
        values.update(DEPLOY_KEY_SECRET="dns-deploy-key", AWS_ACCESS_KEY_ID="AKIAEXAMPLE")
    else:
        values.update(DEPLOY_KEY_SECRET="", AWS_ACCESS_KEY_ID="")
    compose = yaml.safe_load(render((VERSION_DIR / "docker-compose.yml.tpl").read_text(), values))
    service = compose["services"]["octodns-rancher"]
    labels = service["labels"]
    assert labels["io.rancher.container.create_agent"] == "true"
    assert labels["io.rancher.container.agent.role"]
    env = service["environment"]
    assert env["ROOT_DOMAIN"] == "${ROOT_DOMAIN}"
    if with_secrets:
        secret = service["secrets"][0]
        assert secret["source"] == "dns-deploy-key" and secret["mode"] == "0400"
        assert compose["secrets"]["dns-deploy-key"]["external"] == "true"
        assert "/run/secrets/" + secret["target"] in env["GIT_SSH_COMMAND"]
    else:
        assert "secrets" not in service and "GIT_SSH_COMMAND" not in env
        assert "AWS_SECRET_ACCESS_KEY" not in env
    # The health check asks the port the service listens on.
    port = int(env["LISTEN_ADDRESS"].rsplit(":", 1)[1])
    check = catalog["octodns-rancher"]["health_check"]
    assert check["port"] == port and service["expose"] == [port]
    assert check["request_line"].startswith("GET /healthz ")


def test_compose_environment_is_what_the_command_reads(catalog: dict) -> None:
    """Every variable the compose file sets is documented by `octodns-rancher watch --help`."""
    values = {q["variable"]: "x" for q in catalog[".catalog"]["questions"]}
    compose = yaml.safe_load(render((VERSION_DIR / "docker-compose.yml.tpl").read_text(), values))
    env = compose["services"]["octodns-rancher"]["environment"]
    helptext = subprocess.run(
        [str(BIN / "octodns-rancher"), "watch", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "200", "PATH": ""},
    ).stdout
    for name in set(env) - FOREIGN_ENV:
        assert re.search(rf"\benv {name}\b", helptext), f"{name} is not read by watch"
