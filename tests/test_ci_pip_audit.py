""".ci/pip_audit.py decides what CI says about known vulnerabilities. Here no vulnerability
service answers (only the package index is reachable), so its failing and passing branches
never run for real in CI: they run here, on pip-audit's JSON report as pip-audit writes it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "pip_audit.py"


@pytest.fixture
def pip_audit(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("ci_pip_audit", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exceptions = tmp_path / "pip-audit-exceptions.txt"
    exceptions.write_text("# none\n")
    monkeypatch.setattr(module, "EXCEPTIONS", exceptions)
    return module


def _answers(monkeypatch, module, **by_service):
    """pip-audit's (report, stderr) per service; a service not named is unreachable."""
    asked = []

    def audit(service, ignored):
        asked.append((service, ignored))
        if service in by_service:
            return by_service[service], ""
        return None, f"{service}: service unreachable (NameResolutionError)"

    monkeypatch.setattr(module, "audit", audit)
    return asked


CLEAN = {"name": "flask", "version": "3.1.3", "vulns": []}
VULNERABLE = {"name": "jinja2", "version": "3.1.2", "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}]}
NOT_FOUND = {"name": "sqlmodel", "skip_reason": "Dependency not found on PyPI and could not be audited: sqlmodel (0.0.50)"}


def test_a_known_vulnerability_fails(monkeypatch, capsys, pip_audit):
    _answers(monkeypatch, pip_audit, pypi={"dependencies": [CLEAN, VULNERABLE], "fixes": []})
    assert pip_audit.main() == 1
    out = capsys.readouterr().out
    assert "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in: 3.1.3)" in out and "FAILED" in out


def test_a_clean_audit_passes_and_names_what_it_could_not_audit(monkeypatch, capsys, pip_audit):
    _answers(monkeypatch, pip_audit, pypi={"dependencies": [CLEAN, NOT_FOUND], "fixes": []})
    assert pip_audit.main() == 0
    out = capsys.readouterr().out
    assert "1 dependencies audited (pypi), no known vulnerabilities" in out
    assert "not audited by pypi: sqlmodel" in out


def test_no_service_answering_is_a_skip_not_a_pass(monkeypatch, capsys, pip_audit):
    """What pip-audit itself calls "No known vulnerabilities found" when the PyPI API knew none of
    the packages: nothing was audited, and CI says so."""
    asked = _answers(monkeypatch, pip_audit, pypi={"dependencies": [NOT_FOUND], "fixes": []})
    assert pip_audit.main() == 0
    out = capsys.readouterr().out
    assert out.startswith("pip-audit: SKIPPED, nothing audited")
    assert "no known vulnerabilities" not in out
    assert [service for service, _ in asked] == ["pypi", "osv"]


def test_accepted_vulnerabilities_are_passed_on_and_need_a_reason(monkeypatch, pip_audit):
    pip_audit.EXCEPTIONS.write_text("# header\nGHSA-h5c8-rqwp-cp95  # sandbox escape; Casework renders no user templates\n")
    asked = _answers(monkeypatch, pip_audit, pypi={"dependencies": [CLEAN], "fixes": []})
    assert pip_audit.main() == 0
    assert asked == [("pypi", ["GHSA-h5c8-rqwp-cp95"])]

    pip_audit.EXCEPTIONS.write_text("GHSA-h5c8-rqwp-cp95\n")
    with pytest.raises(SystemExit, match="without a reason"):
        pip_audit.main()
