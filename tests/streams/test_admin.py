"""Topic creation and configuration: `alertstream topics` sets the configured retention and
cleanup policy on topics that already exist (IncrementalAlterConfigs), on the embedded broker."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from alertstream.config import KafkaSettings, Settings
from alertstream.schemas.topics import DAY_MS, NOTIFY_DLQ, TopicSpec
from alertstream.streams.admin import ConfigChange, align_topics, config_changes, ensure_topics
from tests.components import pipeline_env


def test_config_changes_names_only_what_differs() -> None:
    wanted = {"retention.ms": "1000", "cleanup.policy": "delete"}
    assert config_changes("t", wanted, {"retention.ms": "1000", "cleanup.policy": "delete"}) == []
    assert config_changes("t", wanted, {"retention.ms": "5", "cleanup.policy": "delete"}) == [
        ConfigChange("t", "retention.ms", "5", "1000")]
    assert config_changes("t", wanted, {}) == [
        ConfigChange("t", "cleanup.policy", None, "delete"), ConfigChange("t", "retention.ms", None, "1000")]


def _config(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)])[ConfigResource(ResourceType.TOPIC,
                                                                                                topic)]
    return {name: entry.value for name, entry in future.result().items()}


@pytest.mark.integration
def test_existing_topics_get_the_configured_retention(broker) -> None:
    name = f"admin.test.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(name, 1, 1, config={"retention.ms": str(DAY_MS),
                                                                     "cleanup.policy": "delete"})]).values():
        future.result()
    spec = TopicSpec(name, "key", "io.alertstream.NormalizedAlert", "test", retention_ms=3 * DAY_MS)
    kafka = KafkaSettings(bootstrap_servers=broker.bootstrap, partitions=1)
    assert ensure_topics(kafka, (spec,)) == []  # it exists: creation leaves it alone
    report = align_topics(kafka, (spec,))
    assert report.refused == []
    assert report.changed == [ConfigChange(name, "retention.ms", str(DAY_MS), str(3 * DAY_MS))]
    assert _config(broker.bootstrap, name)["retention.ms"] == str(3 * DAY_MS)
    assert align_topics(kafka, (spec,)).changed == []  # done once
    override = KafkaSettings(bootstrap_servers=broker.bootstrap, partitions=1, topic_retention_ms=((name, -1),))
    assert [c.new for c in align_topics(override, (spec,)).changed] == ["-1"]


@pytest.mark.integration
def test_topics_command_reports_what_it_changed(broker, database_url: str, tmp_path: Path) -> None:
    env = pipeline_env(broker.bootstrap, database_url, tmp_path)
    ensure_topics(Settings.from_env(env).kafka)  # as the contract says, if they were not there yet
    env["ALERTSTREAM_TOPIC_RETENTION"] = f"{NOTIFY_DLQ.name}=31d"

    def topics(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "alertstream", "topics"], env={**env, **extra},
                              capture_output=True, text=True, timeout=60)

    done = topics()
    assert done.returncode == 0, done.stderr
    if "keeps its configuration" in done.stderr:  # a broker without IncrementalAlterConfigs: said, not fatal
        pytest.skip(f"the broker refused: {done.stderr}")
    assert f"changed: {NOTIFY_DLQ.name} retention.ms {NOTIFY_DLQ.retention_ms} -> {31 * DAY_MS}" in done.stdout
    assert _config(broker.bootstrap, NOTIFY_DLQ.name)["retention.ms"] == str(31 * DAY_MS)
    again = topics()
    assert f"changed: {NOTIFY_DLQ.name}" not in again.stdout
    back = topics(ALERTSTREAM_TOPIC_RETENTION="")  # the contract's default again
    assert f"changed: {NOTIFY_DLQ.name} retention.ms {31 * DAY_MS} -> {NOTIFY_DLQ.retention_ms}" in back.stdout


class _Done:
    def __init__(self, value: object = None, error: Exception | None = None) -> None:
        self.value, self.error = value, error

    def result(self) -> object:
        if self.error is not None:
            raise self.error
        return self.value


class _Entry:
    def __init__(self, value: str) -> None:
        self.value = value


class _RefusingAdmin:
    """A broker that describes topics but refuses to change them (as brokers before 2.3 do)."""

    def __init__(self, conf: dict[str, str]) -> None:
        pass

    def list_topics(self, timeout: float) -> object:
        return type("Metadata", (), {"topics": {"a": None, "b": None}})()

    def describe_configs(self, resources: list[ConfigResource], request_timeout: float) -> dict[object, _Done]:
        return {r: (_Done({"retention.ms": _Entry("1"), "cleanup.policy": _Entry("delete")}) if r.name == "a"
                    else _Done(error=KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))))
                for r in resources}

    def incremental_alter_configs(self, resources: list[ConfigResource], request_timeout: float) -> dict:
        raise KafkaException(KafkaError(KafkaError._UNSUPPORTED_FEATURE, "IncrementalAlterConfigs not supported"))


def test_a_refusing_broker_is_reported_per_topic_and_nothing_crashes(monkeypatch: pytest.MonkeyPatch) -> None:
    import alertstream.streams.admin as admin_module

    monkeypatch.setattr(admin_module, "AdminClient", _RefusingAdmin)
    specs = tuple(TopicSpec(n, "key", "io.alertstream.NormalizedAlert", "test") for n in ("a", "b", "c"))
    report = align_topics(KafkaSettings(), specs)
    assert report.changed == []
    refused = dict(report.refused)
    assert set(refused) == {"a", "b"}  # c does not exist: nothing to align
    assert "refused the change" in refused["a"] and "not supported" in refused["a"]
    assert "cannot read its configuration" in refused["b"]
