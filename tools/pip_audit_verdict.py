"""Read pip-audit's JSON report and decide: fail on any known vulnerability; skip, saying
why, when nothing could be audited (the vulnerability service is out of reach).

Usage: python tools/pip_audit_verdict.py REPORT.json EXIT_CODE ERROR_LOG
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def verdict(report: Path, exit_code: int, errors: Path) -> int:
    try:
        data = json.loads(report.read_text())
        dependencies = data["dependencies"]
    except (OSError, ValueError, KeyError, TypeError):
        last = (errors.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit: skipped: it could not run here (exit {exit_code}: {last[:200]})")
        return 0
    vulnerable = [d for d in dependencies if d.get("vulns")]
    audited = [d for d in dependencies if "skip_reason" not in d]
    for dependency in vulnerable:
        ids = ", ".join(v["id"] for v in dependency["vulns"])
        print(f"pip-audit: {dependency['name']} {dependency['version']}: {ids}")
    if vulnerable:
        print(f"pip-audit: FAILED: {len(vulnerable)} dependencies with known vulnerabilities")
        return 1
    if not audited:
        print(
            "pip-audit: skipped: the vulnerability service answered for none of the"
            f" {len(dependencies)} dependencies (no offline database here)"
        )
        return 0
    skipped = len(dependencies) - len(audited)
    print(
        f"pip-audit: {len(audited)} dependencies audited, no known vulnerabilities"
        f" ({skipped} could not be audited)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(verdict(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])))
