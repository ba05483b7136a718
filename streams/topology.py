"""The whole stream topology in one place: topics, tables, agents, and which feeds which.

  edge ──> alerts.normalized ──[check_dedup: table alert_state by fingerprint]──> alerts.changes
  edge/CLI ──> incidents.actions ──[check_actions: re-key by correlation key]──> alerts.changes
  check_timer (every worker, its own partitions) ──ticks──> alerts.changes
  alerts.changes ──[check_incidents: table incidents by correlation key, lanes, silences,
      grouping]──> incidents.events
  edge/CLI ──> silences (compacted) ──[every worker reads all of it]──> the check stage's silences
  incidents.events ──[analyze: local provider under a deadline]──> incidents.analyses
  incidents.analyses ──[notify: ledger claim, channel send]──> notifications.results
      a retryable failure ──> notify.retry.30s|5m|1h ──[notify_retry_*: wait until due, same claim
      and send]──> notifications.results;  out of attempts/age, or permanent ──> notify.dlq (reason header)
  every stage ──> audit.refs (hash-chained: table audit_chains);  audit.refs, incidents.events,
  notifications.results, silences ──[store: a consumer group of its own, not a faust agent]──> PostgreSQL;
  the records refs point at ──[store]──> audit_content (streams/storage_consumer.py)
  a record a stage can never process ──> pipeline.dlq (with its reason)

The shadow app of `alertstream replay --reprocess` is this same topology with shadow=True:
check and analyze only, every topic `shadow.<name>`, no notify, no storage (streams/shadow.py).
"""

from __future__ import annotations

import logging
import time
from typing import cast

import faust
from faust.types import TP

from alertstream.config import Settings
from alertstream.notify.channels import channels_from_settings
from alertstream.notify.retry import RETRY_TOPICS
from alertstream.schemas.topics import TOPICS

from .analyze import make_analyze_agent
from .changelog import BatchChangelogTable
from .check import make_actions_agent, make_dedup_agent, make_incident_agent
from .check_runtime import CheckRuntime
from .context import StageContext
from .deliver import Notifier, make_notify_agent
from .fetch import PromptTransport
from .gaps import STALL_S, GapGuard
from .lag import make_lag_refresher
from .notify_retry import make_retry_agent
from .shadow import TOPIC_NAMES as SHADOW_TOPICS
from .shadow import LocalAnalysisService, ShadowContext, shadow_name
from .storage_consumer import StorageConsumer
from .worker_app import ChangelogTableManager

log = logging.getLogger(__name__)
STALL_CHECK_S = STALL_S / 3  # how often the check stage looks for partitions it stopped reading


def _same(topic: str) -> str:
    return topic


# Records faust may hold for one agent before its one consumer stops handing out records to *every*
# agent. At faust's 4,096 a stage with a backlog (check, under a burst) starved the stages after it
# of records already fetched: end to end, notify idled while alerts waited in incidents.analyses.
STREAM_BUFFER = 32_768


def build_app(settings: Settings, *, shadow: bool = False, store: bool = True) -> faust.App:
    """The production app; or, shadow=True, its check -> analyze stages alone on shadow.* topics.
    store=False leaves PostgreSQL to an `alertstream store` process (streams/storage_consumer.py)."""
    kafka, worker = settings.kafka, settings.worker
    name = shadow_name if shadow else _same
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
        TableManager=ChangelogTableManager,  # recovery reads each changelog to its real end
        Table=BatchChangelogTable,  # a batch's table changes go through the stages' producer
        stream_buffer_maxsize=STREAM_BUFFER,
    )
    app.transport = PromptTransport(app.conf.broker_consumer, app)  # a short fetch wait: streams/fetch.py
    # Keyed by the production name: a stage sends to "incidents.events" and, in the shadow app,
    # it lands on shadow.incidents.events; a topic the shadow app lacks is a KeyError, never production.
    topics = {
        spec.name: app.topic(name(spec.name), key_type=bytes, value_type=bytes, partitions=kafka.partitions)
        for spec in TOPICS if not shadow or spec.name in SHADOW_TOPICS
    }
    ctx = (ShadowContext if shadow else StageContext)(settings, topics, channels_from_settings(worker))
    check = CheckRuntime(settings, lambda: list(ctx.channels))

    # JSON, never pickle, in every changelog.
    json_schema: faust.Schema = faust.Schema(key_serializer="json", value_serializer="json")
    # app.Table is declared to return TableT; it builds a faust.Table, which the agents are typed with.
    alert_state = cast(faust.Table, app.Table("alert_state", default=None, partitions=kafka.partitions,
                                              schema=json_schema))
    incidents = cast(faust.Table, app.Table("incidents", default=None, partitions=kafka.partitions,
                                            schema=json_schema))
    # Heads of the audit hash chains, one per (stage, input partition): alertstream/chain.py.
    ctx.chains = app.Table("audit_chains", default=None, partitions=kafka.partitions, schema=json_schema)

    # The last input offset each check agent finished, per partition, kept as a row of the agent's
    # own table: the same changelog partition as the rows it vouches for (streams/gaps.py).
    dedup_guard = GapGuard(kafka.bootstrap_servers, alert_state)
    guard = GapGuard(kafka.bootstrap_servers, incidents)
    for table in (alert_state, incidents, ctx.chains):
        cast(BatchChangelogTable, table).outputs = ctx.producer
    app.agent(topics["alerts.normalized"], name="check_dedup")(
        make_dedup_agent(ctx, alert_state, check, dedup_guard))
    if not shadow:  # operator actions are production's; a replay has none
        actions = app.topic("incidents.actions", "incidents.commands", key_type=bytes, value_type=bytes)
        app.agent(actions, name="check_actions")(make_actions_agent(ctx))
    app.agent(topics["alerts.changes"], name="check_incidents")(make_incident_agent(ctx, incidents, check, guard))

    @app.task
    async def connect_outputs() -> None:
        await ctx.connect_outputs()

    @app.task
    async def check_silence_feed() -> None:
        await check.feed_silences(ctx.codec)

    @app.timer(settings.check.tick_s, name="check_timer")
    async def check_timer() -> None:
        try:
            await check.on_timer(ctx, incidents, lambda: _actives(app, name("alerts.changes")))
        except Exception:
            log.exception("check timer failed; trying again on its next tick")

    @app.timer(STALL_CHECK_S, name="check_stalls")
    async def check_stalls() -> None:
        """Records a rebalance dropped at the end of a partition: read them again (streams/gaps.py)."""
        try:
            if not app.flow_control.is_active():
                return  # a rebalance is under way: positions are about to be set anyway
            now = time.monotonic()
            for stage_guard, topic in ((dedup_guard, name("alerts.normalized")), (guard, name("alerts.changes"))):
                highwaters = {p: app.consumer.highwater(TP(topic, p)) for p in _actives(app, topic)}
                for partition, offset in stage_guard.stalled(topic, highwaters, now):
                    log.warning("input stalled on %s[%d]: records past offset %d were fetched but never "
                                "processed; reading again from there", topic, partition, offset - 1)
                    await app.consumer.seek(TP(topic, partition), offset)
        except Exception:
            log.exception("stall check failed; trying again on its next tick")

    app.stage_context = ctx  # type: ignore[attr-defined]  # for tests and shutdown
    app.check_runtime = check  # type: ignore[attr-defined]
    app.gap_guards = (dedup_guard, guard)  # type: ignore[attr-defined]
    if shadow:  # the local rules only, nothing stored; and no notify, no storage below
        app.agent(topics["incidents.events"], name="analyze")(
            make_analyze_agent(ctx, LocalAnalysisService(settings, ctx.pool)))
        return app
    app.agent(topics["incidents.events"], name="analyze")(make_analyze_agent(ctx))
    notifier = Notifier(ctx)
    app.agent(topics["incidents.analyses"], name="notify")(make_notify_agent(ctx, notifier))
    for retry_topic in RETRY_TOPICS:
        retry_agent = make_retry_agent(ctx, notifier, retry_topic, app)
        app.agent(topics[retry_topic], name=retry_agent.__name__)(retry_agent)
    app.timer(settings.notify.channel_refresh_s, name="notify_channels")(notifier.refresh_channels)
    storage = StorageConsumer(ctx)  # its own consumer group: storage never paces the stages
    app.storage_consumer = storage  # type: ignore[attr-defined]  # for tests
    if store:
        @app.task
        async def storage_consumer() -> None:  # faust passes the app to a task that takes an argument
            await storage.run_supervised()
    app.timer(10.0, name="metrics_lag")(make_lag_refresher(app, ctx))
    return app


def _actives(app: faust.App, topic: str) -> set[int]:
    """The partitions of `topic` this worker actively owns (not its standby copies)."""
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}
