"""CI: pip-audit of requirements.txt, failing on any known vulnerability not accepted in
.ci/pip-audit-exceptions.txt, and saying plainly when nothing could be audited.

pip-audit asks a vulnerability service about each resolved dependency: the PyPI JSON API
(``/pypi/<name>/<version>/json``) or OSV (``api.osv.dev``). Where neither answers (a machine that
reaches only the package index), pip-audit itself reports "No known vulnerabilities found" and
exits 0, having audited nothing: here that is a SKIPPED line naming the reason, never a pass.
A partial answer audits what it can and names the rest.

Exit status: 1 on a vulnerability (or pip-audit failing for another reason than the service),
0 when clean or skipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXCEPTIONS = ROOT / ".ci" / "pip-audit-exceptions.txt"
SERVICES = ("pypi", "osv")
UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "Failed to resolve",
               "Temporary failure in name resolution", "timed out", "Connection refused")


def accepted() -> list[str]:
    """Vulnerability ids accepted for now: one per line, each with a ``#`` comment saying why."""
    ids = []
    for line in EXCEPTIONS.read_text().splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            if "#" not in line:
                sys.exit(f"{EXCEPTIONS.name}: {entry} is accepted without a reason (add '# why')")
            ids.append(entry)
    return ids


def audit(service: str, ignored: list[str]) -> tuple[dict | None, str]:
    command = [sys.executable, "-m", "pip_audit", "-r", str(ROOT / "requirements.txt"), "--format", "json",
               "--progress-spinner", "off", "--vulnerability-service", service]
    for vuln in ignored:
        command += ["--ignore-vuln", vuln]
    run = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    try:
        return json.loads(run.stdout), run.stderr
    except json.JSONDecodeError:
        if any(marker in run.stderr for marker in UNREACHABLE):
            return None, f"{service}: service unreachable ({run.stderr.strip().splitlines()[-1][:200]})"
        print(run.stdout, run.stderr, sep="\n", file=sys.stderr)
        sys.exit(f"pip-audit: failed (exit {run.returncode}) for another reason than the service")


def main() -> int:
    ignored = accepted()
    reasons = []
    for service in SERVICES:
        report, note = audit(service, ignored)
        if report is None:
            reasons.append(note)
            continue
        dependencies = report["dependencies"]
        skipped = [d for d in dependencies if d.get("skip_reason")]
        audited = [d for d in dependencies if not d.get("skip_reason")]
        if not audited:
            reasons.append(f"{service}: answered for none of {len(dependencies)} dependencies "
                           f"(e.g. {skipped[0]['skip_reason']})" if skipped else f"{service}: no dependencies")
            continue
        found = [(d["name"], d["version"], v["id"], ", ".join(v.get("fix_versions", [])) or "no fix yet")
                 for d in audited for v in d.get("vulns", [])]
        for name, version, vuln, fixes in found:
            print(f"pip-audit: {name} {version}: {vuln} (fixed in: {fixes})")
        if skipped:
            print(f"pip-audit: {len(skipped)} dependencies not audited by {service}: "
                  + ", ".join(d["name"] for d in skipped))
        if found:
            print(f"pip-audit: FAILED: {len(found)} known vulnerabilities ({service}); upgrade, or accept one in "
                  f".ci/{EXCEPTIONS.name} with the reason")
            return 1
        print(f"pip-audit: {len(audited)} dependencies audited ({service}), no known vulnerabilities"
              + (f"; {len(ignored)} accepted in .ci/{EXCEPTIONS.name}" if ignored else ""))
        return 0
    print("pip-audit: SKIPPED, nothing audited: no vulnerability service answered from this machine")
    for reason in reasons:
        print(f"  - {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
