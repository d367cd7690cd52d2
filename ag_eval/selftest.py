"""Language self-tests: each runner's small programs must get their expected verdicts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .engine import verify_many
from .runners import Runner, get_registry


@dataclass
class SelfTestReport:
    language: str
    status: str  # ok | fail | missing
    passed: int = 0
    total: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def selftest_jobs(runner: Runner) -> list[dict]:
    return [
        {"id": f"{runner.name}/{st.name}", "language": runner.name, "code": st.code, "compare": st.compare,
         "time_limit_s": st.time_limit_s, "tests": [{"input": i, "output": o} for i, o in st.tests]}
        for st in runner.selftests
    ]


def run_selftests(languages: list[str] | None = None, *, workers: int | None = None) -> list[SelfTestReport]:
    """Run the self-tests of the named languages (default: all; missing toolchains reported, not run)."""
    registry = get_registry()
    runners = [registry.get(lang) for lang in languages] if languages else list(registry)
    reports: list[SelfTestReport] = []
    for runner in runners:
        if not runner.installed:
            reports.append(SelfTestReport(runner.name, "missing", total=len(runner.selftests),
                                          failures=[f"missing {', '.join(runner.missing_executables())}"]))
            continue
        start = time.monotonic()
        results = verify_many(selftest_jobs(runner), workers=workers)
        report = SelfTestReport(runner.name, "ok", total=len(results), seconds=time.monotonic() - start)
        for st, res in zip(runner.selftests, results):
            if res.verdict is st.expect:
                report.passed += 1
            else:
                detail = res.error or (res.compile.stderr if res.compile and res.compile.status == "error" else "")
                if not detail and res.tests:
                    bad = next((t for t in res.tests if t.verdict is not st.expect), res.tests[0])
                    detail = bad.stderr or bad.stdout
                report.failures.append(f"{st.name}: expected {st.expect.value}, got {res.verdict.value}"
                                       + (f" ({detail.strip().splitlines()[-1][:120]})" if detail.strip() else ""))
        if report.failures:
            report.status = "fail"
        reports.append(report)
    return reports
