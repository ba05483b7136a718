"""`alertstream replay --reprocess`: run the selected alerts through check -> analyze again,
in a shadow app (streams/shadow.py) that never notifies and never writes PostgreSQL.

1. create the shadow.* topics; note every one's end offsets (this run's outputs start there);
2. commit the shadow app's consumer group at those ends on its input topics, so it reads only
   this run's records even though earlier runs used the same topics;
3. copy the selected alerts into shadow.alerts.normalized;
4. run `alertstream worker --shadow` as a child process with its own app id;
5. stop it once idle: every input consumed and nothing new on any shadow topic for a while;
6. report what it produced, and remove the run's private state (table changelogs, group).

The decisions (idle or not, the summary) are pure; the broker and the child are the I/O.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from alertstream.config import Settings
from alertstream.replay import ReplayError

log = logging.getLogger(__name__)

Offsets = dict[tuple[str, int], int]  # (topic, partition) -> offset


@dataclass
class Idleness:
    """When the shadow app is done: its inputs consumed and no shadow topic moving for `quiet_s`."""

    quiet_s: float
    last_ends: Offsets = field(default_factory=dict)
    changed_at: float = 0.0

    def observe(self, ends: Offsets, committed: Offsets, inputs: tuple[str, ...], now: float) -> bool:
        if ends != self.last_ends:
            self.last_ends, self.changed_at = dict(ends), now
        consumed = all(committed.get(tp, -1) >= end for tp, end in ends.items() if tp[0] in inputs)
        return consumed and now - self.changed_at >= self.quiet_s


def per_topic(start: Offsets, end: Offsets) -> dict[str, int]:
    """Records each topic gained between two snapshots of its end offsets."""
    out: dict[str, int] = {}
    for (topic, partition), high in end.items():
        out[topic] = out.get(topic, 0) + max(high - start.get((topic, partition), 0), 0)
    return out


@dataclass(frozen=True)
class Summary:
    run: str
    app_id: str
    started_at: datetime
    records_in: int
    skipped: int
    produced: dict[str, int]
    log_path: Path
    finished: bool

    def lines(self) -> list[str]:
        from alertstream.streams.shadow import shadow_name

        def n(topic: str) -> int:
            return self.produced.get(shadow_name(topic), 0)

        since = self.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        state = "done" if self.finished else "STOPPED BEFORE IT WAS IDLE (outputs may be incomplete)"
        lines = [
            f"reprocess {self.run} ({self.app_id}): {state}",
            f"  records in:       {self.records_in}"
            + (f" ({self.skipped} skipped: not alerts)" if self.skipped else ""),
            f"  changes, ticks:   {n('alerts.changes')}",
            f"  incident events:  {n('incidents.events')}",
            f"  analyses:         {n('incidents.analyses')}",
            f"  audit refs:       {n('audit.refs')}",
            f"  dead letters:     {n('pipeline.dlq')}",
            f"  outputs: {shadow_name('incidents.events')}, {shadow_name('incidents.analyses')}, "
            f"{shadow_name('alerts.changes')}, {shadow_name('audit.refs')} (records since {since})",
            f"  read them: alertstream replay --topic {shadow_name('incidents.events')} --since {since} --to-file -",
        ]
        if self.records_in:
            lines.append(f"  worker log: {self.log_path}")
        return lines


# -- the broker -----------------------------------------------------------------------------

class Follower:
    """Where each partition of some topics really ends, kept current by reading them, never by
    asking: the embedded broker reports a partition's end as its last batch's first offset + 1,
    so records of a multi-record batch would be missed (or, as a start, read twice)."""

    def __init__(self, bootstrap: str, partitions: Mapping[str, int]) -> None:
        from confluent_kafka import TopicPartition

        from alertstream.topic_reader import consumer

        self.bootstrap = bootstrap
        self.client = consumer(bootstrap)
        self.ends: Offsets = {
            (t, p): self.client.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1]
            for t, count in partitions.items() for p in range(count)
        }
        self.at_end: set[tuple[str, int]] = set()  # seen at their end, nothing read since
        self.client.assign([TopicPartition(t, p, o) for (t, p), o in self.ends.items()])

    def poll(self, seconds: float) -> None:
        """Read what arrives for about `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msg = self.client.poll(min(0.2, max(deadline - time.monotonic(), 0.0)))
            if msg is None:
                continue
            if msg.error():
                from confluent_kafka import KafkaError

                from alertstream.topic_reader import error_of

                error = error_of(msg)
                if error.code() != KafkaError._PARTITION_EOF:
                    raise ReplayError(f"reading {msg.topic()}: {error.str()}")
                key, offset = (str(msg.topic()), int(msg.partition() or 0)), int(msg.offset() or 0)
                self.at_end.add(key)
                self.ends[key] = max(self.ends[key], offset)
                continue
            key, offset = (str(msg.topic()), int(msg.partition() or 0)), int(msg.offset() or 0)
            self.at_end.discard(key)
            self.ends[key] = max(self.ends[key], offset + 1)

    def settle(self, timeout: float = 30.0) -> None:
        """Read until every partition has been seen at its end since its last record (or the timeout).
        Call it once writers are done: a record still on its way is not waited for."""
        deadline = time.monotonic() + timeout
        while len(self.at_end) < len(self.ends) and time.monotonic() < deadline:
            self.poll(0.5)

    def close(self) -> None:
        self.client.close()


def true_ends(bootstrap: str, topics: tuple[str, ...]) -> Offsets:
    """Where these topics' partitions end now, read rather than asked (see Follower)."""
    follower = Follower(bootstrap, _partition_counts(bootstrap, topics))
    try:
        follower.settle()
        return dict(follower.ends)
    finally:
        follower.close()


def _partition_counts(bootstrap: str, topics: tuple[str, ...]) -> dict[str, int]:
    from alertstream.topic_reader import consumer, partitions_of

    client = consumer(bootstrap)
    try:
        return {t: len(partitions_of(client, t)) for t in topics}
    finally:
        client.close()


def _group_client(bootstrap: str, group: str):  # type: ignore[no-untyped-def]
    from confluent_kafka import Consumer

    # Never subscribes: commits and reads the group's offsets without joining it.
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})


def _commit(bootstrap: str, group: str, offsets: Offsets) -> None:
    from confluent_kafka import KafkaException, TopicPartition

    client = _group_client(bootstrap, group)
    try:
        done = client.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
    except KafkaException as exc:
        raise ReplayError(f"cannot set the shadow app's start offsets: {exc.args[0].str()}") from None
    finally:
        client.close()
    failed = [tp for tp in done or () if tp.error is not None]
    if failed:
        raise ReplayError(f"cannot set the shadow app's start offsets: {failed[0].error.str()}")


def _committed(client, keys: list[tuple[str, int]]) -> Offsets:  # type: ignore[no-untyped-def]
    from confluent_kafka import TopicPartition

    found = client.committed([TopicPartition(t, p) for t, p in keys], timeout=10)
    return {(tp.topic, tp.partition): tp.offset for tp in found}


def _remove_private_state(bootstrap: str, app_id: str) -> None:
    """The run's table changelogs (`<app id>-…`) and consumer group, which no one uses again. Best
    effort: left behind they are harmless, so a failure is only logged."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        names = [t for t in admin.list_topics(timeout=10).topics if t.startswith(f"{app_id}-")]
        futures = {**(admin.delete_topics(names, operation_timeout=10) if names else {}),
                   **admin.delete_consumer_groups([app_id], request_timeout=10)}
        for name, future in futures.items():
            try:
                future.result()
            except KafkaException as exc:
                log.info("could not delete %s: %s", name, exc)
    except KafkaException as exc:
        log.info("could not clean up after shadow app %s: %s", app_id, exc)


# -- the child ------------------------------------------------------------------------------

def child_env(settings: Settings, env: Mapping[str, str], app_id: str, run: str, work_dir: Path) -> dict[str, str]:
    """The shadow worker's environment: its own app id and run id, no ports, no database, and a
    short rebalance timeout (a lone member still waits for it to join on some brokers)."""
    out = {k: v for k, v in env.items() if k != "DATABASE_URL"}
    out.update(
        ALERTSTREAM_APP_ID=app_id,
        ALERTSTREAM_RUN_ID=f"shadow-{run}",
        ALERTSTREAM_WORKER_DIR=str(work_dir),
        ALERTSTREAM_WORKER_METRICS_PORT="0",
        ALERTSTREAM_WORKER_WEB_PORT="0",
        ALERTSTREAM_REBALANCE_TIMEOUT_S=str(min(settings.worker.rebalance_timeout_s, 3.0)),
    )
    return out


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # faust commits and leaves its group
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def reprocess(
    settings: Settings,
    copy_in: Callable[[str], tuple[int, int]],
    *,
    idle_s: float = 5.0,
    timeout_s: float = 600.0,
    status: TextIO = sys.stderr,
) -> Summary:
    """copy_in(topic) copies the selected alerts into `topic`: (copied, skipped)."""
    from alertstream.streams.admin import ensure_topics
    from alertstream.streams.shadow import INPUT_NAMES, shadow_app_id, shadow_name, shadow_specs

    bootstrap = settings.kafka.bootstrap_servers
    run = uuid.uuid4().hex[:8]
    app_id = shadow_app_id(settings.worker.app_id, run)
    specs = shadow_specs()
    names = tuple(s.name for s in specs)
    inputs = tuple(shadow_name(t) for t in INPUT_NAMES)
    ensure_topics(settings.kafka, specs)
    follower = Follower(bootstrap, _partition_counts(bootstrap, names))
    try:
        follower.settle()
        started_at, start = datetime.now(UTC), dict(follower.ends)
        _commit(bootstrap, app_id, {tp: o for tp, o in start.items() if tp[0] in inputs})
        copied, skipped = copy_in(shadow_name("alerts.normalized"))

        shadow_dir = settings.state_dir / "shadow"
        shadow_dir.mkdir(parents=True, exist_ok=True)
        log_path, work_dir = shadow_dir / f"{run}.log", shadow_dir / run
        finished = copied == 0
        if not finished:
            with open(log_path, "wb") as log_file:
                proc = subprocess.Popen(  # noqa: S603  (our own argv, no shell)
                    [sys.executable, "-m", "alertstream", "worker", "--shadow"],
                    env=child_env(settings, os.environ, app_id, run, work_dir), stdout=log_file,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )
            try:
                finished = _wait_idle(follower, app_id, inputs, proc, idle_s, timeout_s, status, log_path)
            finally:
                _stop(proc)
        follower.poll(2.0)  # the worker has stopped: what it wrote is fetched within this
        follower.settle()
        produced = per_topic(start, follower.ends)
    finally:
        follower.close()
    _remove_private_state(bootstrap, app_id)
    shutil.rmtree(work_dir, ignore_errors=True)
    return Summary(run, app_id, started_at, copied, skipped, produced, log_path, finished)


def _wait_idle(follower: Follower, app_id: str, inputs: tuple[str, ...], proc: subprocess.Popen[bytes],
               idle_s: float, timeout_s: float, status: TextIO, log_path: Path) -> bool:
    idleness = Idleness(idle_s, changed_at=time.monotonic())
    deadline, said = time.monotonic() + timeout_s, 0.0
    watcher = _group_client(follower.bootstrap, app_id)
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ReplayError(f"the shadow worker stopped (exit {proc.returncode}); its log {log_path}:\n"
                                  + _tail(log_path))
            follower.poll(1.0)
            ends = dict(follower.ends)
            committed = _committed(watcher, [tp for tp in ends if tp[0] in inputs])
            now = time.monotonic()
            if idleness.observe(ends, committed, inputs, now):
                return True
            if now - said >= 5:
                left = sum(max(e - committed.get(tp, 0), 0) for tp, e in ends.items() if tp[0] in inputs)
                print(f"reprocess: shadow worker running, {left} input records not yet consumed", file=status)
                said = now
    finally:
        watcher.close()
    print(f"reprocess: not idle within {timeout_s:.0f}s; stopping the shadow worker", file=status)
    return False
