"""The service's Prometheus metrics, in a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ag_eval import Verdict, stats

#: Request latency buckets, seconds: a warm Lua test is ~2 ms, a compile ~0.1-1 s, a batch longer.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


#: Help text of each counter of :mod:`ag_eval.stats`, exported as ``agnostics_<name>_total``.
JAIL_COUNTERS = {
    "jails_started": "Warm jails started (restarts included).",
    "jails_restarted": "Warm jails started again in place of one that died or was poisoned.",
    "jails_poisoned": "Warm jails that could not be made clean after a test (ended, never reused).",
    "jails_discarded": "Warm jails ended instead of going back to the pool.",
    "reruns": "Test runs and compile steps run again after waiting out their wall-clock limit with little CPU time.",
}


class JailCollector:
    """The verifier's warm-jail counters (:func:`ag_eval.stats.snapshot`), read at each scrape."""

    def collect(self):
        counts = stats.snapshot()
        for name, help_text in JAIL_COUNTERS.items():
            yield CounterMetricFamily(f"agnostics_{name}", help_text, value=counts.get(name, 0))


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("agnostics_requests", "HTTP requests answered, by endpoint and status code.",
                                ("endpoint", "code"), registry=self.registry)
        self.verdicts = Counter("agnostics_verdicts", "Jobs judged, by verdict.", ("verdict",), registry=self.registry)
        self.latency = Histogram("agnostics_request_latency_seconds", "Time to answer a request, by endpoint.",
                                 ("endpoint",), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.inflight = Gauge("agnostics_inflight_jobs", "Jobs accepted and not yet judged (queued or running).",
                              registry=self.registry)
        self.running = Gauge("agnostics_running_jobs", "Jobs running in the sandbox now.", registry=self.registry)
        self.rejected = Counter("agnostics_rejected_jobs", "Jobs refused because too many were in flight (429).",
                                registry=self.registry)
        self.registry.register(JailCollector())
        for v in Verdict:  # every verdict shows, at 0, from the start
            self.verdicts.labels(v.value)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
