"""Prometheus metrics for the hub, in a registry of their own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class HubMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.commands = Counter(
            "accord_commands_total",
            "Commands received, by type and outcome (ok or the refusal code).",
            ["type", "outcome"],
            registry=registry,
        )
        self.command_seconds = Histogram(
            "accord_command_seconds",
            "Time from a command's arrival to its acknowledgement (includes the durable append).",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=registry,
        )
        self.events = Counter(
            "accord_events_appended_total", "Events appended to session logs.", registry=registry
        )
        self.connections = Gauge(
            "accord_connections", "Live Socket.IO connections.", registry=registry
        )
        self.live_sessions = Gauge(
            "accord_live_sessions", "Sessions held in memory.", registry=registry
        )
        self.store_errors = Counter(
            "accord_store_errors_total", "Appends that failed in the store.", registry=registry
        )
        self.timers_fired = Counter(
            "accord_timers_fired_total", "Timer deadlines fired by this node.", registry=registry
        )
        self.refused_connections = Counter(
            "accord_connections_refused_total",
            "Sockets and handshakes refused or closed before they authenticated, by reason "
            "(a connect_error code, unauthenticated_cap, handshake_timeout).",
            ["reason"],
            registry=registry,
        )
        self.slow_consumers = Counter(
            "accord_slow_consumers_total",
            "Connections cut off because they did not read what they were sent.",
            registry=registry,
        )
