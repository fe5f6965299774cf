"""config: the rendered octoDNS config, exercised by octoDNS's own commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from octodns.processor.filter import NameAllowlistFilter
from octodns.provider.yaml import YamlProvider
from octodns.record import Record
from octodns.zone import Zone

from octodns_rancher.config import PROVIDERS, allowlist_pattern, render_octodns_config
from octodns_rancher.errors import ConfigError
from tests.conftest import FIXTURES, ROOT, run

DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "validate-only", "AWS_SECRET_ACCESS_KEY": "validate-only"}


def test_shipped_config_validates():
    proc = run(
        ["octodns-validate", "--config-file", "config/octodns.yaml"], cwd=ROOT, env=DUMMY_AWS
    )
    assert proc.returncode == 0, proc.stderr


def test_shipped_config_is_what_init_renders():
    text = (ROOT / "config" / "octodns.yaml").read_text()
    assert text == render_octodns_config(zone="example.com", environment="Production")


def test_no_credentials_in_rendered_configs():
    for provider in PROVIDERS:
        data = yaml.safe_load(render_octodns_config("example.com", "prod", provider=provider))
        for name, cfg in data["providers"].items():
            for key, value in cfg.items():
                if any(w in key for w in ("key", "secret", "token")):
                    assert str(value).startswith("env/"), (provider, name, key)


# A key octoDNS can load (validation starts the providers; nothing is sent to the server).
DUMMY_RFC2136 = {
    "RFC2136_HOST": "127.0.0.1",
    "RFC2136_TSIG_KEYNAME": "octodns-rancher",
    "RFC2136_TSIG_SECRET": "dmFsaWRhdGUtb25seS12YWxpZGF0ZS1vbmx5LXZhbGlkYXQ=",
}


@pytest.mark.parametrize("ownership", ["record", "subtree"])
@pytest.mark.parametrize("policy", ["sync", "upsert-only"])
def test_rfc2136_config_validates_with_both_ownership_models_and_policies(
    tmp_path, ownership, policy
):
    config = tmp_path / "octodns.yaml"
    config.write_text(
        render_octodns_config(
            "example.com", "Production", "rfc2136", policy=policy, ownership=ownership
        )
    )
    (tmp_path / "zones").mkdir()
    shutil.copy(FIXTURES / "golden" / "example.com.yaml", tmp_path / "zones")
    proc = run(["octodns-validate", "--config-file", str(config)], cwd=tmp_path, env=DUMMY_RFC2136)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load(config.read_text())
    target = data["providers"]["rfc2136"]
    assert target["class"] == "octodns_rancher.rfc2136.Rfc2136Provider"
    assert target["key_secret"] == "env/RFC2136_TSIG_SECRET"
    zone = data["zones"]["example.com."]
    assert zone["targets"] == ["rfc2136"]
    assert zone["processors"][:2] == ["rancher-subtree", "ownership"]
    assert data["processors"]["rancher-subtree"]["allowlist"] == [allowlist_pattern("Production")]
    assert ("upsert-only" in zone["processors"]) == (policy == "upsert-only")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"provider": "bind"}, "unknown provider"),
        ({"provider": "nsupdate"}, "unknown provider"),
        ({"policy": "create-only"}, "unknown policy"),
        ({"environment": "___"}, "does not make a valid DNS label"),
    ],
)
def test_invalid_init_arguments(kwargs, message):
    args = {"zone": "example.com", "environment": "prod", **kwargs}
    with pytest.raises(ConfigError, match=message):
        render_octodns_config(**args)


OUTSIDE = """---
'':
  type: TXT
  value: zone apex, not ours
test-default:
  type: A
  value: 192.0.2.50
www:
  type: CNAME
  value: web.shop.production.example.com.
x.otherenv:
  type: A
  value: 192.0.2.51
"""
# Records an earlier sync of this environment left, with their ownership markers.
STALE = """_owner.a.old.shop.production:
  type: TXT
  value: octodns-rancher:production
_owner.a.web.shop.production:
  type: TXT
  value: octodns-rancher:production
old.shop.production:
  type: A
  value: 192.0.2.99
web.shop.production:
  type: A
  value: 192.0.2.98
"""


def target_records(directory: Path) -> dict:
    return yaml.safe_load((directory / "example.com.yaml").read_text())


def sync(workdir: Path, target: Path, *extra: str):
    return run(
        ["octodns-sync", "--config-file", str(workdir / "octodns.yaml"), *extra],
        cwd=workdir,
        env={"OCTODNS_TARGET_DIR": str(target)},
    )


def test_sync_writes_exactly_our_records_and_keeps_the_rest(tmp_path):
    """octodns-sync --doit from zones/ into a YamlProvider target that already holds records."""
    zones, target = tmp_path / "zones", tmp_path / "target"
    zones.mkdir()
    target.mkdir()
    shutil.copy(FIXTURES / "golden" / "example.com.yaml", zones / "example.com.yaml")
    (target / "example.com.yaml").write_text(OUTSIDE + STALE)
    (tmp_path / "octodns.yaml").write_text(
        render_octodns_config("example.com", "Production", provider="yaml", zones_dir="./zones")
    )

    proc = sync(tmp_path, target)
    assert proc.returncode == 0, proc.stderr
    assert (target / "example.com.yaml").read_text() == OUTSIDE + STALE  # plan only

    proc = sync(tmp_path, target, "--doit", "--force")
    assert proc.returncode == 0, proc.stderr
    got = target_records(target)
    outside = yaml.safe_load(OUTSIDE)
    assert {k: v for k, v in got.items() if k in outside} == outside
    # Read back as octoDNS reads it (the target's default_ttl, 300, is not written out).
    zone = Zone("example.com.", [])
    YamlProvider(
        "t", str(target), default_ttl=300, enforce_order=False, escaped_semicolons=False
    ).populate(zone)
    ours = {
        r.name: (r._type, list(r.values), r.ttl)
        for r in zone.records
        if r.name.endswith(".production") and r._type in ("A", "AAAA")
    }
    assert ours == {
        "api.shop.production": ("A", ["203.0.113.11"], 300),
        "frontend.shop.production": ("A", ["203.0.113.10", "203.0.113.11"], 300),
        "grafana.monitoring.production": ("A", ["203.0.113.11"], 300),
        "prometheus.monitoring.production": ("A", ["198.51.100.20"], 300),
        "web.shop.production": ("A", ["198.51.100.20", "203.0.113.10"], 300),
        "worker.shop.production": ("A", ["203.0.113.10"], 300),
    }

    # A second sync finds nothing to do.
    proc = sync(tmp_path, target)
    assert proc.returncode == 0 and "No changes were planned" in proc.stdout + proc.stderr


def test_shipped_config_plans_against_route53_on_moto():
    """A noop octodns-sync of the shipped config: it plans our records and changes nothing."""
    from tests.support.moto_server import MotoServer

    with MotoServer() as moto:
        zone_id = moto.create_zone("example.com")
        before = moto.record_sets(zone_id)
        proc = run(["octodns-sync", "--config-file", "config/octodns.yaml"], cwd=ROOT, env=moto.env)
        assert proc.returncode == 0, proc.stderr
        plan = proc.stdout + proc.stderr
        assert "web.shop.production.example.com." in plan and "Create" in plan
        assert moto.record_sets(zone_id) == before
        assert not any("ChangeResourceRecordSets" in op for op in moto.operations())


@pytest.mark.parametrize("ownership", ["record", "subtree"])
def test_another_subtree_is_managed_too(ownership):
    text = render_octodns_config(
        "example.com",
        "Production",
        ownership=ownership,
        subtrees=["cluster1", "apps.east.example.com.", "production"],
    )
    data = yaml.safe_load(text)
    allow = data["processors"]["rancher-subtree"]["allowlist"]
    assert allow == ["/\\.production\\Z/", "/\\.cluster1\\Z/", "/\\.apps\\.east\\Z/"]
    chain = data["zones"]["example.com."]["processors"]
    if ownership == "subtree":
        assert chain == [
            "rancher-subtree",
            "ownership",
            "ownership-cluster1",
            "ownership-apps-east",
        ]
        assert data["processors"]["ownership-apps-east"]["marker"] == "_owner.apps.east"
    else:
        assert chain == ["rancher-subtree", "ownership"]
    # Without subtrees the config is exactly what it was.
    assert render_octodns_config("example.com", "Production", subtrees=[]) == render_octodns_config(
        "example.com", "Production"
    )


@pytest.mark.parametrize("bad", ["", "a..b", "*.x", "UPPER_", "a/b", "-x"])
def test_invalid_subtree(bad):
    with pytest.raises(ConfigError, match="invalid subtree"):
        render_octodns_config("example.com", "Production", subtrees=[bad])


def test_the_subtree_filter_keeps_only_names_strictly_below_the_environment():
    """octoDNS's own filter with the generated pattern, on names a provider can hand back: a
    Route53 name with ``\\012`` comes back holding a newline, which "$" let through."""
    zone = Zone("example.com.", [])
    names = ["a.production", "a.b.production", "a.production\n", "production", "aproduction"]
    for name in [*names, "www", "a.production.x"]:
        data = {"type": "A", "ttl": 60, "value": "192.0.2.1"}
        zone.add_record(Record.new(zone, name, data, lenient=True), lenient=True)
    allow = NameAllowlistFilter("rancher-subtree", [allowlist_pattern("Production")])
    kept = allow.process_target_zone(zone.copy(), None)
    assert sorted(r.name for r in kept.records) == ["a.b.production", "a.production"]


def test_init_yaml_config_works_as_rendered(tmp_path, monkeypatch):
    """`init --provider yaml` then `octodns-sync --doit`, with no OCTODNS_TARGET_DIR set."""
    monkeypatch.delenv("OCTODNS_TARGET_DIR", raising=False)
    (tmp_path / "zones").mkdir()
    shutil.copy(FIXTURES / "golden" / "example.com.yaml", tmp_path / "zones" / "example.com.yaml")
    init = ["init", "--zone", "example.com", "--environment", "Production", "--provider", "yaml"]
    proc = run(["octodns-rancher", *init], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    config = (tmp_path / "config" / "octodns.yaml").read_text()
    assert "OCTODNS_TARGET_DIR" in config and "default ./target" in config  # documented
    cmd = ["octodns-sync", "--config-file", "config/octodns.yaml"]
    proc = run(["octodns-validate", "--config-file", "config/octodns.yaml"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run([*cmd, "--doit"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    published = target_records(tmp_path / "target")
    assert "web.shop.production" in published and "_owner.a.web.shop.production" in published
    proc = run(cmd, cwd=tmp_path)  # a second plan: nothing left to do
    assert proc.returncode == 0 and "No changes were planned" in proc.stdout + proc.stderr


def _norm(name: str) -> str:
    return name.lower().replace("_", "-")


def _runtime_distributions() -> set[str]:
    """The distributions ``pip install .`` brings: ours, its runtime dependencies and theirs."""
    import re
    from importlib.metadata import PackageNotFoundError, requires

    import tomllib

    def name(requirement: str) -> str:
        return _norm(re.split(r"[<>=!~\[; (]", requirement.strip(), maxsplit=1)[0])

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [name(r) for r in project["dependencies"]]
    seen = {_norm(project["name"])}
    while todo:
        dist = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        try:
            reqs = requires(dist) or []
        except PackageNotFoundError:
            continue
        todo += [name(r) for r in reqs if "extra ==" not in r]
    return seen


def _classes(data: object) -> list[str]:
    if isinstance(data, dict):
        found = [v for k, v in data.items() if k == "class" and isinstance(v, str)]
        return found + [c for v in data.values() for c in _classes(v)]
    if isinstance(data, list):
        return [c for v in data for c in _classes(v)]
    return []


def test_every_class_a_config_names_comes_with_the_runtime_dependencies():
    """The workflows install the project alone (``pip install .``): each class a shipped or
    ``init``-rendered config loads, and everything its module imports, must come from the
    runtime dependencies, not the test extras."""
    import json
    import sys
    from importlib.metadata import packages_distributions

    owners = packages_distributions()
    runtime = _runtime_distributions()
    texts = [p.read_text() for p in sorted((ROOT / "config").glob("octodns*.yaml"))]
    texts += [render_octodns_config("example.com", "prod", provider=p) for p in PROVIDERS]
    modules = sorted({c.rsplit(".", 1)[0] for t in texts for c in _classes(yaml.safe_load(t))})
    probe = (
        "import importlib, json, sys\n"
        "before = set(sys.modules)\n"  # what the interpreter loaded at start (site, .pth)
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in set(sys.modules) - before})))"
    )
    proc = run([sys.executable, "-c", probe], cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    outside = {
        f"{top} ({', '.join(owners[top])})"
        for top in loaded
        if top in owners and not {_norm(d) for d in owners[top]} & runtime
    }
    assert not outside, f"{modules} load modules from outside the runtime dependencies: {outside}"
