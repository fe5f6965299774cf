#!/usr/bin/env python3
"""octoDNS's plan, for people: rendered with octoDNS's own PlanMarkdown, plus its checksum.

``octodns-sync`` prints its plan through the manager's ``plan_outputs``; this runs the same
Manager with a PlanMarkdown output (and ``enable_checksum``), so the pull-request comment shows
exactly what ``octodns-sync --doit`` will do and the checksum that ``apply --checksum`` demands.

  plan   --config-file C [--output plan.md]    write the comment body; print changes/checksum
  apply  --config-file C --checksum SHA256     apply only if the plan is still the reviewed one
  zones  --config-file C                       the zones the config manages, one per line

``plan`` and ``apply`` print ``key=value`` lines (changes, creates, updates, deletes, checksum,
unsafe) for ``$GITHUB_OUTPUT``. A provider that cannot be reached (or answers with an error) is
one ``ERROR`` line and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
from typing import Any

from octodns.manager import Manager, ManagerException
from octodns.provider.plan import PlanMarkdown, UnsafePlan

from octodns_rancher.redact import redact_text

MARKER = "<!-- octodns-rancher-plan -->"
log = logging.getLogger("octodns_plan")


class _Capture:
    """A plan output that keeps the plans and renders them with PlanMarkdown."""

    def __init__(self) -> None:
        self.plans: list[Any] = []
        self.markdown = PlanMarkdown("markdown")

    def run(self, plans: list[Any], log: Any = None, fh: Any = sys.stdout, **kwargs: Any) -> None:
        self.plans = list(plans)
        self.markdown.run(plans=plans, log=log, fh=fh)


class _Checksum(logging.Handler):
    """octoDNS logs the plan's checksum on the ``Checksum`` logger; keep the value."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.value = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.args:
            self.value = str(record.args[0] if isinstance(record.args, tuple) else record.args)


def run_sync(config: str, checksum: str | None = None, force: bool = False) -> dict[str, Any]:
    """One Manager sync with checksums on: a dry run, or with ``checksum`` a checked apply."""
    manager = Manager(config, enable_checksum=True)
    capture = _Capture()
    manager.plan_outputs = {"markdown": capture}
    handler = _Checksum()
    logging.getLogger("Checksum").addHandler(handler)
    buf = io.StringIO()
    unsafe = ""
    try:
        manager.sync(dry_run=checksum is None, force=force, plan_output_fh=buf, checksum=checksum)
    except UnsafePlan as e:
        unsafe = str(e)
    finally:
        logging.getLogger("Checksum").removeHandler(handler)
    counts = {"Create": 0, "Update": 0, "Delete": 0}
    for _, plan in capture.plans:
        for kind, n in plan.change_counts.items():
            counts[kind] += n
    return {
        "markdown": buf.getvalue(),
        "changes": sum(counts.values()),
        "creates": counts["Create"],
        "updates": counts["Update"],
        "deletes": counts["Delete"],
        "checksum": handler.value,
        "unsafe": unsafe,
    }


def comment(config: str, result: dict[str, Any], title: str) -> str:
    """The pull-request comment: marker, headline, octoDNS's markdown, how it will be applied."""
    n = result["changes"]
    head = [MARKER, f"# {title}", ""]
    if n:
        head.append(
            f"**{n} change(s)**: {result['creates']} create, {result['updates']} update, "
            f"{result['deletes']} delete · plan checksum `{result['checksum']}`"
        )
    else:
        head.append("**No changes**: the provider already matches the zone files.")
    if result["unsafe"]:
        head += [
            "",
            f"> [!WARNING]\n> octoDNS refuses this plan without `--force`: {result['unsafe']}",
        ]
    tail = [
        "",
        f"Merging applies it with `octodns-sync --config-file {config} --doit`; to apply only this "
        f"exact plan, run the apply workflow with checksum `{result['checksum'] or 'n/a'}`.",
        f"<!-- octodns-plan-checksum: {result['checksum']} -->",
    ]
    return "\n".join([*head, "", result["markdown"].rstrip(), *tail]) + "\n"


def outputs(result: dict[str, Any]) -> str:
    keys = ("changes", "creates", "updates", "deletes", "checksum")
    lines = [f"{k}={result[k]}" for k in keys]
    lines.append(f"unsafe={'true' if result['unsafe'] else 'false'}")
    return "\n".join(lines) + "\n"


def provider_error(e: BaseException) -> str:
    """One line for a provider that could not be reached or refused (botocore, requests, ...).

    Credentials in URLs are removed; the full text of a long message is cut.
    """
    text = " ".join(str(e).split()) or "no details"
    text = redact_text(text)
    if len(text) > 300:
        text = text[:297] + "..."
    return f"the provider failed: {type(e).__name__}: {text}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("command", choices=("plan", "apply", "zones"))
    p.add_argument("--config-file", required=True)
    p.add_argument("--output", help="plan: write the comment body here (default stdout)")
    p.add_argument("--title", default="octoDNS plan", help="plan: the comment's heading")
    p.add_argument("--checksum", help="apply: the checksum of the reviewed plan")
    p.add_argument("--force", action="store_true", help="apply: allow octoDNS's unsafe plans")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "zones":
            zones = Manager(args.config_file).config["zones"]
            sys.stdout.write("".join(f"{z.rstrip('.')}\n" for z in zones))
            return 0
        if args.command == "apply":
            if not args.checksum:
                p.error("apply needs --checksum")
            result = run_sync(args.config_file, checksum=args.checksum, force=args.force)
            if result["unsafe"]:
                log.error("plan refused by octoDNS: %s", result["unsafe"])
                return 1
            sys.stdout.write(outputs(result))
            return 0
        result = run_sync(args.config_file)
    except ManagerException as e:
        log.error("%s", e)
        return 1
    except Exception as e:  # a provider's own exception (botocore, requests, ...)
        log.error("%s", provider_error(e))
        return 2
    body = comment(args.config_file, result, args.title)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(body)
        sys.stdout.write(outputs(result))
    else:
        sys.stdout.write(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
