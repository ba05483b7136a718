"""The canary: secrets of every kind posted through the whole real pipeline, then every topic (from the
beginning), every database table, the edge and worker logs and what the receiver got are searched.
Zero occurrences — of the secrets, and of the API key that sent them."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

pytestmark = pytest.mark.integration


def canaries(s: str) -> dict[str, str]:
    """kind -> a secret of that kind carrying the unique value `s` (32 hex characters)."""
    return {
        "password": f"password={s}pw",
        "passwd": f"passwd: {s}pd",
        "secret": f"client_secret={s}cs",
        "token": f"token={s}tk",
        "api-key": f'api_key="{s}ak"',
        "authorization": f"Authorization: Basic {s}ba",
        "bearer": f"sent with bearer {s}br",
        "aws": f"AKIA{s.upper()[:16]}",
        "private-key": f"-----BEGIN RSA PRIVATE KEY-----\nMIIE{s}pk\n-----END RSA PRIVATE KEY-----",
        "slack-token": f"xoxb-{s}-sl",
        "github-token": f"ghp_{s}gh",
        "url-credentials": f"https://svc:{s}uc@db.internal.example/x",
        "slack-webhook": f"https://hooks.slack.com/services/T0/B0/{s}sw",
    }


def generic_alert(tag: str, secrets: dict[str, str]) -> dict:
    s = {k: v for k, v in secrets.items()}
    return {
        "name": f"CanaryGeneric-{tag}",
        "severity": "critical",
        "labels": {"instance": "db-1", "db_password": s["password"].split("=")[1], "dsn": s["url-credentials"]},
        "annotations": {
            "summary": f"login failed: {s['password']} {s['passwd']}",
            "description": " | ".join(s.values()),
            "curl": f"curl -H '{s['authorization']}' -H 'X-Api-Key: {tag}{s['aws']}'",
        },
        "links": [{"kind": "dashboard", "url": s["url-credentials"]}, {"kind": "chat", "url": s["slack-webhook"]}],
        "group_key": f"{{}}:{{{s['token']}}}",
    }


def alertmanager_group(tag: str, secrets: dict[str, str]) -> dict:
    alert = {
        "status": "firing",
        "labels": {"alertname": f"CanaryAM-{tag}", "severity": "warning", "instance": "api-1",
                   "api_key": secrets["api-key"], "token": secrets["github-token"]},
        "annotations": {"summary": secrets["slack-token"], "description": secrets["private-key"]},
        "startsAt": "2026-11-29T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": secrets["url-credentials"],
        "fingerprint": f"canary-{tag}",
    }
    return {
        "version": "4", "status": "firing", "receiver": "alertstream", "truncatedAlerts": 0,
        "groupKey": f'{{}}:{{alertname="CanaryAM-{tag}", {secrets["secret"]}}}',
        "groupLabels": {"alertname": f"CanaryAM-{tag}"}, "commonLabels": {"alertname": f"CanaryAM-{tag}"},
        "commonAnnotations": {"runbook": secrets["bearer"]}, "externalURL": "http://am.example:9093",
        "alerts": [alert],
    }


def needles(s: str, api_key: str) -> list[bytes]:
    """What must never be found: the unique value in both cases, its AWS-shaped form, the API key —
    as text and as the hex that PostgreSQL prints for bytea."""
    plain = [s, s[:12], s.upper()[:16], api_key, api_key[4:]]
    return [n.encode() for n in plain] + [n.encode().hex().encode() for n in plain]


def every_topic(bootstrap: str) -> dict[str, bytes]:
    """Every record (key, value and headers) of every topic, read from the beginning."""
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"canary-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    contents: dict[str, bytes] = {}
    try:
        ends: dict[tuple[str, int], int] = {}
        for topic, meta in metadata.topics.items():
            for p in meta.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if high > low:
                    ends[(topic, p)] = high
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in ends])
        seen: dict[str, list[bytes]] = {}
        deadline = time.monotonic() + 60
        while ends and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            where = (message.topic(), message.partition())
            parts = [message.key() or b"", message.value() or b""]
            parts += [(v or b"") for _, v in (message.headers() or [])]
            seen.setdefault(message.topic(), []).append(b"\n".join(parts))
            if where in ends and message.offset() + 1 >= ends[where]:
                del ends[where]
        assert not ends, f"could not read every topic to its end: {sorted(ends)[:5]}"
        contents = {topic: b"\n".join(records) for topic, records in seen.items()}
    finally:
        consumer.close()
    return contents


def every_table(database_url: str) -> dict[str, bytes]:
    with psycopg.connect(database_url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT quote_ident(table_name) FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        ).fetchall()]
        return {t: "\n".join(r[0] for r in conn.execute(f"SELECT x::text FROM {t} AS x").fetchall()).encode()
                for t in tables}


def test_no_secret_survives_the_pipeline(pipeline) -> None:
    tag = uuid.uuid4().hex[:8]
    s = uuid.uuid4().hex
    secrets = canaries(s)
    traces = []
    for payload in (generic_alert(tag, secrets), alertmanager_group(tag, secrets)):
        response = pipeline.post(json=payload)
        assert response.status_code == 202, response.text
        traces.append(response.json()["trace_id"])
    # Sent with X-API-Key too: neither header form may leak.
    response = pipeline.post(json=generic_alert(tag + "x", secrets), headers={
        "Authorization": "", "X-API-Key": pipeline.api_key})
    assert response.status_code == 202, response.text
    traces.append(response.json()["trace_id"])

    def ours(r) -> bool:
        return tag in r.json().get("title", "")

    got = pipeline.receiver.wait_for(ours, 3, timeout=60)
    assert len(got) >= 3, "the canary alerts did not come through the pipeline"
    deadline = time.monotonic() + 30
    with psycopg.connect(pipeline.database_url) as conn:
        while time.monotonic() < deadline:
            stages = conn.execute("SELECT count(DISTINCT trace_id) FROM audit_refs WHERE trace_id = ANY(%s)"
                                  " AND stage = 'notified'", (traces,)).fetchone()
            if stages and stages[0] == len(traces):
                break
            time.sleep(0.3)
    time.sleep(1)  # the storage agents' last batches

    haystacks: dict[str, bytes] = {}
    haystacks.update({f"topic {t}": v for t, v in every_topic(pipeline.env["KAFKA_BOOTSTRAP_SERVERS"]).items()})
    tables = every_table(pipeline.database_url)
    assert any(tag.encode() in v for v in tables.values()), "the canary incidents should be stored"
    haystacks.update({f"table {t}": v for t, v in tables.items()})
    haystacks["edge log"] = pipeline.edge.log().encode()
    haystacks["worker log"] = pipeline.worker.log().encode()
    haystacks["receiver"] = b"\n".join(r.body for r in pipeline.receiver.matching(lambda r: True))
    assert any(tag.encode() in v for k, v in haystacks.items() if k.startswith("topic")), "topics were read"

    leaks = [(where, needle.decode()) for where, text in haystacks.items() for needle in needles(s, pipeline.api_key)
             if needle in text]
    assert not leaks, f"secrets found: {leaks}"
    # Positive control: the alerts did arrive, redacted rather than dropped.
    assert all(b"[REDACTED:" in r.body for r in got)
