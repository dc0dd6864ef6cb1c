"""Prometheus metrics, on a registry per bot instance (tests run several bots in one
process, and the global default registry would refuse a second set of names)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import exposition as _exposition

from idlbot.gctune import GcPauses

CONTENT_TYPE = str(_exposition.CONTENT_TYPE_LATEST)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "idlbot_commands",
            "Commands run, by name and outcome.",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.command_seconds = Histogram(
            "idlbot_command_seconds",
            "Command latency.",
            ["command"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.outbox_backlog = Gauge(
            "idlbot_outbox_backlog", "Posts waiting in the outbox.", registry=self.registry
        )
        self.outbox_delivered = Counter(
            "idlbot_outbox_delivered", "Posts delivered from the outbox.", registry=self.registry
        )
        self.outbox_failures = Counter(
            "idlbot_outbox_delivery_failures",
            "Failed delivery attempts, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.ws_reconnects = Counter(
            "idlbot_websocket_reconnects", "Websocket reconnects.", registry=self.registry
        )
        self.ws_connected = Gauge(
            "idlbot_websocket_connected", "1 while the websocket is connected.", registry=self.registry
        )
        self.lease_held = Gauge(
            "idlbot_lease_held",
            "1 while this replica holds the lease of the singleton pass `name`.",
            ["name", "replica"],
            registry=self.registry,
        )

        self.gc = GcPauses(self.registry)  # installed by the bot while it runs
        self._command_children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def observe_command(self, command: str, outcome: str, seconds: float) -> None:
        """Count and time one command. The labelled children are kept: looking them up
        through `labels()` (a lock, label checks) cost as much as the two updates."""
        children = self._command_children.get((command, outcome))
        if children is None:
            children = self._command_children[(command, outcome)] = (
                self.commands.labels(command=command, outcome=outcome),
                self.command_seconds.labels(command=command),
            )
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
