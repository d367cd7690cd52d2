"""The service's Prometheus metrics, in a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ag_eval import Verdict

#: Request latency buckets, seconds: a warm Lua test is ~2 ms, a compile ~0.1-1 s, a batch longer.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


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
        for v in Verdict:  # every verdict shows, at 0, from the start
            self.verdicts.labels(v.value)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
