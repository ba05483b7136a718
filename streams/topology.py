"""The whole stream topology in one place: topics, tables, agents, and which feeds which.

  edge ──> alerts.normalized ──[check_dedup: table alert_state by fingerprint]──> alerts.changes
  alerts.changes ──[check_incidents: table incidents by correlation key]──> incidents.events
  incidents.events ──[analyze: local provider under a deadline]──> incidents.analyses
  incidents.analyses ──[notify: ledger claim, channel send]──> notifications.results
  every stage ──> audit.refs;  audit.refs, incidents.events, notifications.results ──[store]──> PostgreSQL
  a record a stage can never process ──> pipeline.dlq (with its reason)
"""

from __future__ import annotations

import faust

from alertstream.config import Settings
from alertstream.notify.channels import channels_from_settings
from alertstream.schemas.topics import TOPICS

from .analyze import make_analyze_agent
from .check import make_dedup_agent, make_incident_agent
from .context import StageContext
from .deliver import make_notify_agent
from .incidents import IncidentPolicy
from .store import make_storage_agents


def build_app(settings: Settings) -> faust.App:
    kafka, worker = settings.kafka, settings.worker
    app = faust.App(
        worker.app_id,
        broker=[f"kafka://{server}" for server in kafka.bootstrap_servers.split(",")],
        store="memory://",  # tables are rebuilt from their changelog topics on start
        datadir=str(worker.data_dir),
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        broker_rebalance_timeout=worker.rebalance_timeout_s,
        broker_session_timeout=worker.session_timeout_s,
        broker_heartbeat_interval=worker.heartbeat_interval_s,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=worker.web_port > 0,
        web_port=worker.web_port or 6066,
        web_in_thread=False,
    )
    topics = {
        spec.name: app.topic(spec.name, key_type=bytes, value_type=bytes, partitions=kafka.partitions)
        for spec in TOPICS
    }
    ctx = StageContext(settings, topics, channels_from_settings(worker))
    policy = IncidentPolicy()

    # JSON, never pickle, in every changelog.
    json_schema = faust.Schema(key_serializer="json", value_serializer="json")
    alert_state = app.Table("alert_state", default=None, partitions=kafka.partitions, schema=json_schema)
    incidents = app.Table("incidents", default=None, partitions=kafka.partitions, schema=json_schema)

    app.agent(topics["alerts.normalized"], name="check_dedup")(make_dedup_agent(ctx, alert_state, policy))
    app.agent(topics["alerts.changes"], name="check_incidents")(make_incident_agent(ctx, incidents, policy))
    app.agent(topics["incidents.events"], name="analyze")(make_analyze_agent(ctx))
    app.agent(topics["incidents.analyses"], name="notify")(make_notify_agent(ctx))
    for topic, agent in make_storage_agents(ctx).items():
        app.agent(topics[topic], name=f"store_{topic.replace('.', '_')}")(agent)
    app.stage_context = ctx  # type: ignore[attr-defined]  # for tests and shutdown
    return app
