"""The ``--check`` batch command: integrity-check scans on a server and print one report per scan.

Exit codes: 0 when no check failed (warnings allowed), 1 when a check failed, 2 when a scan could
not be checked at all (unknown id, network, refused key) or no session could be opened; 2 wins
over 1, since an unchecked scan may hide a failure.

JSON (``--json``): one entry per scan id, in the order given::

    [{"scanId": "...", "checks": [{"name": "pipeline", "status": "pass|warn|fail", "detail": "..."}]}]

A scan that could not be checked has ``"checks": []`` and one more key, ``"error": "<why>"``.

The command line is the app's own: ``scan-viewer [server options] --check SCAN_ID... [--json]``.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Sequence, TextIO

from viewer.core.server_choice import (
    KEY_ENV_VAR,
    ServerTarget,
)
from viewer.core.settings import Settings
from viewer.services.integrity import ScanReport, Status, check_scan
from viewer.services.session import connect

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_NOT_CHECKED = 2


def report_to_json(reports: Sequence[ScanReport]) -> list[dict]:
    entries = []
    for report in reports:
        entry: dict = {
            "scanId": report.scan_id,
            "checks": [{"name": c.name, "status": c.status.value, "detail": c.detail} for c in report.checks],
        }
        if report.error is not None:
            entry["error"] = report.error
        entries.append(entry)
    return entries


def verdict(report: ScanReport) -> str:
    """NOT CHECKED, FAIL, WARN or PASS: the worst of the scan's checks."""
    if report.error is not None:
        return "NOT CHECKED"
    statuses = {c.status for c in report.checks}
    for status in (Status.FAIL, Status.WARN):
        if status in statuses:
            return status.name
    return Status.PASS.name


def format_report(report: ScanReport) -> str:
    """A block of aligned lines: the scan and its verdict, then ``STATUS  name  detail`` per check."""
    lines = [f"Scan {report.scan_id}: {verdict(report)}"]
    if report.error is not None:
        lines.append(f"  could not be checked: {report.error}")
        return "\n".join(lines)
    width = max((len(c.name) for c in report.checks), default=0)
    lines += [f"  {c.status.name:<4}  {c.name:<{width}}  {c.detail}" for c in report.checks]
    return "\n".join(lines)


def format_summary(reports: Sequence[ScanReport]) -> str:
    counts = {name: 0 for name in ("PASS", "WARN", "FAIL", "NOT CHECKED")}
    for report in reports:
        counts[verdict(report)] += 1
    return (f"{len(reports)} scans: {counts['PASS']} passed, {counts['WARN']} with warnings, "
            f"{counts['FAIL']} failed, {counts['NOT CHECKED']} not checked")


def exit_code(reports: Sequence[ScanReport]) -> int:
    if any(r.error is not None for r in reports):
        return EXIT_NOT_CHECKED
    if any(r.failed for r in reports):
        return EXIT_CHECK_FAILED
    return EXIT_OK


def print_reports(reports: Sequence[ScanReport], *, as_json: bool, out: TextIO) -> None:
    if as_json:
        json.dump(report_to_json(reports), out, indent=2)
        out.write("\n")
        return
    out.write("\n\n".join(format_report(r) for r in reports) + "\n")
    if len(reports) > 1:
        out.write("\n" + format_summary(reports) + "\n")


def run_check_command(
    scan_ids: Sequence[str],
    *,
    as_json: bool,
    target: ServerTarget,
    api_key: str | None,
    settings: Settings,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Connect (starting the local demo server for the demo), check each scan, print, return the exit code.

    ``out``/``err`` default to the current ``sys.stdout``/``sys.stderr``.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if not scan_ids:
        err.write("scan-viewer: --check needs at least one scan id.\n")
        return EXIT_NOT_CHECKED
    if not target.is_demo and not api_key:
        err.write(f"scan-viewer: no API key for {target.label}: set {KEY_ENV_VAR}, use --api-key-env, "
                  "or use --demo.\n")
        return EXIT_NOT_CHECKED
    try:
        session = connect(target, api_key, settings)
    except (OSError, ValueError) as exc:
        err.write(f"scan-viewer: could not connect to {target.label}: {exc}\n")
        return EXIT_NOT_CHECKED
    try:
        reports = []
        for scan_id in scan_ids:
            log.info("checking scan %s on %s", scan_id, target.label)
            reports.append(check_scan(session, scan_id))
    finally:
        session.close()
    print_reports(reports, as_json=as_json, out=out)
    return exit_code(reports)
