"""Preview the move from Rancher's external DNS service, before anything changes.

``octodns-rancher migrate`` loads the octoDNS config rendered by ``init --environment-uuid``,
reads the zone as the provider holds it and plans the next ``octodns-sync`` exactly as that
would (the same octoDNS manager, filter and ownership processor), and then tells, record by
record, what the sync will adopt, update, create, delete and leave alone, and why: listed in
Rancher's state record, made by hand, another environment's. The result is a Markdown page for
a pull request or the job summary. Nothing is written to the provider.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .octodns_manager import load_manager, one_line
from .processors import RancherOwnership, SubtreeOwnership, _marker_values
from .rancher_state import PREFIX, listed_names

log = logging.getLogger(__name__)

NONE = "-"  # no record

ACTIONS = (
    "adopt",
    "adopt and update",
    "create",
    "update",
    "delete",
    "refused",
    "leave alone",
    "unchanged",
)


@dataclass
class Row:
    action: str
    name: str
    rtype: str
    now: str
    after: str
    why: str


@dataclass
class Preview:
    zone: str
    environment: str
    target: str
    model: str
    state_name: str
    state_found: bool
    rows: list[Row] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    refused: str = ""
    unsafe: str = ""
    markers: int = 0

    def markdown(self) -> str:
        return render(self)


def preview(config_file: Path, zone: str | None = None) -> Preview:
    """What the next sync with ``config_file`` does to the zone, record by record."""
    manager = _manager(config_file)
    name = _zone_name(manager, zone)
    cfg = manager.config["zones"][name]
    proc = _ownership(manager, cfg)
    subtree = _subtree_filter(manager, cfg)
    if not proc.state.name:
        raise ConfigError(
            f"{config_file}: the ownership processor has no rancher_state; render the config "
            "with `octodns-rancher init --environment-uuid <uuid|metadata>`"
        )
    target = manager.providers[cfg["targets"][0]]
    full = _read(target, name)
    plan, refused = _plan(manager, name, proc)
    desired = plan.desired if plan else _desired(manager, cfg, name)
    return _classify(name, subtree, proc, target.id, full, desired, plan, refused)


def _manager(config_file: Path) -> Any:
    return load_manager(config_file)


def _zone_name(manager: Any, zone: str | None) -> str:
    zones = list(manager.config["zones"])
    if zone:
        wanted = zone.strip().lower().rstrip(".") + "."
        if wanted not in zones:
            raise ConfigError(f"zone {zone!r} is not in the config (it has {', '.join(zones)})")
        return wanted
    if len(zones) != 1:
        raise ConfigError(f"the config has {len(zones)} zones; choose one with --zone")
    return zones[0]


def _ownership(manager: Any, cfg: dict) -> RancherOwnership | SubtreeOwnership:
    for pname in cfg.get("processors") or []:
        proc = manager.processors.get(pname)
        if isinstance(proc, (RancherOwnership, SubtreeOwnership)):
            return proc
    raise ConfigError("the zone has no ownership processor of octodns-rancher (render with init)")


def _subtree_filter(manager: Any, cfg: dict) -> Any:
    from octodns.processor.filter import NameAllowlistFilter

    for pname in cfg.get("processors") or []:
        proc = manager.processors.get(pname)
        if isinstance(proc, NameAllowlistFilter):
            return proc
    raise ConfigError("the zone has no NameAllowlistFilter for the subtree (render with init)")


def _read(provider: Any, name: str) -> Any:
    from octodns.zone import Zone

    zone = Zone(name, [])
    try:
        provider.populate(zone, target=True, lenient=True)
    except Exception as e:
        raise ConfigError(f"cannot read {name} from {provider.id}: {one_line(e)}") from e
    return zone


def _desired(manager: Any, cfg: dict, name: str) -> Any:
    """The zone files as the sources read them (when the sync has nothing to plan)."""
    from octodns.zone import Zone

    zone = Zone(name, [])
    for source in cfg["sources"]:
        manager.providers[source].populate(zone, lenient=True)
    return zone


class _Collect:
    """A plan output that keeps the plans instead of printing them."""

    def __init__(self) -> None:
        self.plans: list = []

    def run(self, plans, log=None, fh=None, *args, **kwargs) -> None:
        self.plans = list(plans)


def _plan(manager: Any, name: str, proc: Any) -> tuple[Any, str]:
    """The plan of the next sync; and, when ownership refuses it, the refusal, with the plan
    the sync would make if the takeover were allowed (to show what it concerns)."""
    from octodns.processor.ownership import OwnershipException

    refused = ""
    plan = _sync_plan(manager, name)
    if isinstance(plan, OwnershipException):
        refused = str(plan)
        allow = proc.allow_takeover
        proc.allow_takeover = True
        try:
            plan = _sync_plan(manager, name)
        finally:
            proc.allow_takeover = allow
    if isinstance(plan, Exception):
        raise ConfigError(f"planning {name} failed: {one_line(plan)}") from plan
    return plan, refused


def _sync_plan(manager: Any, name: str) -> Any:
    from octodns.processor.ownership import OwnershipException

    collect = _Collect()
    saved, manager.plan_outputs = manager.plan_outputs, {"migrate": collect}
    try:
        manager.sync(eligible_zones=[name], dry_run=True, force=True, plan_output_fh=io.StringIO())
    except OwnershipException as e:
        return e
    except Exception as e:
        raise ConfigError(f"planning {name} failed: {one_line(e)}") from e
    finally:
        manager.plan_outputs = saved
    return collect.plans[0][1] if collect.plans else None


def _classify(name, subtree, proc, target_id, full, desired, plan, refused) -> Preview:
    from octodns.record import Create, Delete, Update

    model = "subtree" if isinstance(proc, SubtreeOwnership) else "record"
    state = proc.state.record(full)
    listed, outside = listed_names(state.values if state else [], name)
    out = Preview(name, _environment(subtree), target_id, model, proc.state.name, bool(state))
    out.refused = refused
    out.outside = outside + sorted(n for n in listed if not _sees(subtree, n))
    out.unsafe = _unsafe(plan) if plan is not None else ""
    changes = {(c.record.name, c.record._type): c for c in plan.changes} if plan else {}
    have = {(r.name, r._type): r for r in full.records}
    want = {(r.name, r._type): r for r in desired.records}
    ours = _Ours(proc, full)
    marking = set()  # records whose marker the sync creates (record model)
    for change in changes.values():
        if isinstance(change, Create) and _is_marker(proc, change.record) and model == "record":
            marking.add(proc._decode_ownership_name(change.record))
    for key in sorted(set(have) | set(want), key=lambda k: (k[0].split(".")[::-1], k[1])):
        record = have.get(key) or want.get(key)
        if _is_marker(proc, record):
            out.markers += isinstance(changes.get(key), Create)
        elif proc.state.is_state(record):
            out.rows.append(_state_row(key, record, changes.get(key)))
        elif key[1] == "TXT" and key[0].startswith(PREFIX) and "." not in key[0]:
            why = "another environment's Rancher state record: grants nothing here"
            out.rows.append(Row("leave alone", *key, _values(record), _values(record), why))
        elif _sees(subtree, key[0]):
            is_listed = state is not None and key[1] == "A" and key[0] in listed
            row = _row(key, have.get(key), want.get(key), changes.get(key), is_listed, ours)
            if key in marking:
                row.after += ", marked"
            touched = isinstance(changes.get(key), (Update, Delete)) or key in marking
            if refused and touched and not is_listed and not ours.mine(key):
                row.action, row.why = "refused", "exists, not Rancher's and not ours: a takeover"
            out.rows.append(row)
    return out


class _Ours:
    """What already carries our ownership: marked records, or the claimed subtree."""

    def __init__(self, proc, full) -> None:
        self.claimed, self.marked, self.keep = False, set(), set()
        if isinstance(proc, SubtreeOwnership):
            marker = next(
                (r for r in full.records if r.name == proc.marker and r._type == "TXT"), None
            )
            owners, self.keep = _marker_values(marker)
            self.claimed = owners == [proc.txt_value]
        else:
            self.marked = {
                proc._decode_ownership_name(r) for r in full.records if proc._is_ownership(r)
            }

    def mine(self, key: tuple[str, str]) -> bool:
        return key in self.marked or (self.claimed and key not in self.keep)


def _row(key, have, want, change, is_listed, ours: _Ours) -> Row:
    from octodns.record import Create, Delete, Update

    mine = ours.mine(key)
    rancher = "listed in Rancher's state record"
    row = Row("unchanged", key[0], key[1], _values(have), _values(want or have), "ours")
    if isinstance(change, Create):
        row.action, row.why = "create", "a service publishes it"
    elif isinstance(change, Delete):
        row.action, row.after = "delete", NONE
        row.why = f"{rancher if is_listed and not mine else 'ours'}; no service publishes it"
    elif isinstance(change, Update):
        row.action = "adopt and update" if is_listed and not mine else "update"
        row.why = rancher if is_listed and not mine else "ours" if mine else "takeover allowed"
    elif want is not None and not mine:
        row.action = "adopt" if is_listed else "unchanged"
        row.why = rancher if is_listed else "not marked"
    elif want is None:
        row.action, row.after = "leave alone", row.now
        row.why = (
            "kept in the subtree marker as someone else's"
            if key in ours.keep
            else "marked by another owner"
            if is_listed
            else "not listed in Rancher's state record: someone else's"
        )
    return row


def _state_row(key, record, change) -> Row:
    now = f"{len(record.values)} name(s) (TTL {record.ttl})"
    if change is not None:
        why = "Rancher's state record of this environment: every name it lists is ours now"
        return Row("delete", *key, now, NONE, why)
    why = (
        "Rancher's state record of this environment: kept until our markers are in place "
        "and the sync runs with OCTODNS_REMOVE_RANCHER_STATE=1"
    )
    return Row("leave alone", *key, now, now, why)


def _is_marker(proc, record) -> bool:
    if isinstance(proc, SubtreeOwnership):
        return record.name == proc.marker and record._type == "TXT"
    return proc._is_ownership_name(record)


def _sees(subtree, name: str) -> bool:
    return any(r.search(name) for r in subtree.regex)


def _environment(subtree) -> str:
    pattern = subtree.regex[0].pattern if subtree.regex else ""
    # "\Z" as config.allowlist_pattern writes it; "$" in configs written before.
    return pattern.removeprefix(r"\.").removesuffix(r"\Z").removesuffix("$")


def _unsafe(plan) -> str:
    try:
        plan.raise_if_unsafe()
    except Exception as e:
        return one_line(e)
    return ""


def _values(record) -> str:
    if record is None:
        return NONE
    values = [_short(v) for v in getattr(record, "values", None) or [record.value]]
    text = ", ".join(str(v) for v in values[:4]) + (
        f" (+{len(values) - 4})" if len(values) > 4 else ""
    )
    return f"{text} (TTL {record.ttl})"


def _short(value: object, most: int = 80) -> str:
    text = str(value)
    return text if len(text) <= most else text[: most - 3] + "..."


def render(p: Preview) -> str:
    """The preview as Markdown."""
    counts = {a: sum(r.action == a for r in p.rows) for a in ACTIONS}
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
    lines = [
        f"## Moving {p.environment}.{p.zone.rstrip('.')} from Rancher's external DNS",
        "",
        f"Target `{p.target}`, {p.model} ownership. Rancher's state record "
        f"`{p.state_name}.{p.zone}`: " + ("found." if p.state_found else "**not found**."),
        "",
    ]
    if not p.state_found:
        lines += [
            "Without it nothing counts as Rancher's: the sync adopts no record. Check the "
            "environment uuid, or see docs/operations.md for zones without a state record.",
            "",
        ]
    if p.refused:
        lines += [f"**The sync will refuse:** {p.refused}", ""]
    if p.unsafe:
        lines += [f"**octoDNS will ask for `--force`:** {p.unsafe}", ""]
    lines += [
        f"Summary: {summary or 'nothing to do'}"
        + (f"; {p.markers} ownership marker(s) created." if p.markers else "."),
        "",
        "| Action | Name | Type | Now | After the sync | Why |",
        "|--|--|--|--|--|--|",
    ]
    for r in p.rows:
        cells = [r.action, f"`{r.name}`", r.rtype, r.now, r.after, r.why]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if p.outside:
        names = ", ".join(f"`{n}`" for n in p.outside[:10])
        more = f" and {len(p.outside) - 10} more" if len(p.outside) > 10 else ""
        lines += [
            "",
            f"Listed by Rancher outside `{p.environment}.{p.zone.rstrip('.')}`, never touched here "
            f"(remove them by hand if no longer needed): {names}{more}.",
        ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text).replace("|", "\\|")
