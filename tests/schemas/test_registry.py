"""With a schema registry: schemas registered, Confluent wire format out, both formats in.
Against a small local fake implementing the documented REST endpoints."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fastavro
import httpx
import pytest
from fastavro.schema import parse_schema

from alertstream.config import Settings
from alertstream.embedded import free_port
from alertstream.schemas.codec import Codec, SchemaError
from alertstream.schemas.records import AuditRef
from alertstream.schemas.registry import RegistryError, SchemaRegistry
from tests.schemas.test_codec import EXAMPLES


class FakeRegistry:
    """POST /subjects/{subject}/versions and GET /schemas/ids/{id}, as Confluent documents them."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.subjects: dict[str, list[int]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(("POST", self.path, dict(self.headers)))
                parts = self.path.strip("/").split("/")
                if len(parts) != 3 or parts[0] != "subjects" or parts[2] != "versions" or "schema" not in body:
                    return self._reply(404, {"error_code": 404, "message": "not found"})
                schema_id = fake.ids.setdefault(body["schema"], len(fake.ids) + 1)
                fake.subjects.setdefault(parts[1], []).append(schema_id)
                self._reply(200, {"id": schema_id})

            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append(("GET", self.path, dict(self.headers)))
                parts = self.path.strip("/").split("/")
                by_id = {v: k for k, v in fake.ids.items()}
                if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and int(parts[2]) in by_id:
                    return self._reply(200, {"schema": by_id[int(parts[2])]})
                self._reply(404, {"error_code": 40403, "message": "Schema not found"})

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def registry() -> Iterator[tuple[FakeRegistry, str]]:
    fake = FakeRegistry()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), fake.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_confluent_wire_format_round_trips_and_standard_readers_can_decode(registry, record) -> None:
    fake, url = registry
    codec = Codec.from_settings(Settings.from_env({"SCHEMA_REGISTRY_URL": url}))
    data = codec.encode(record)
    assert data[0] == 0
    schema_id = int.from_bytes(data[1:5], "big")
    assert fake.subjects[record.SCHEMA] == [schema_id]  # record-name subjects
    assert codec.decode(data) == record
    # What a standard deserializer does: fetch the writer schema by id, read the body. No alertstream code.
    text = httpx.get(f"{url}/schemas/ids/{schema_id}").json()["schema"]
    body = fastavro.schemaless_reader(io.BytesIO(data[5:]), parse_schema(json.loads(text), named_schemas={}), None)
    assert {f["name"] for f in json.loads(text)["fields"]} == set(body)


def test_single_object_messages_still_decode_and_plain_codecs_say_what_is_missing(registry) -> None:
    _, url = registry
    with_registry, plain = Codec(registry=SchemaRegistry(url)), Codec()
    record = EXAMPLES[0]
    assert with_registry.decode(plain.encode(record)) == record
    with pytest.raises(SchemaError, match="no schema registry is configured"):
        plain.decode(with_registry.encode(record))


def test_ids_registered_elsewhere_are_fetched_and_resolved(registry) -> None:
    """Another producer registered AuditRef version 1; its records read as the current AuditRef."""
    from alertstream.schemas.evolution import history

    fake, url = registry
    v1 = history()["audit_ref"][1]
    schema_id = SchemaRegistry(url).register("io.alertstream.AuditRef", json.dumps(v1))
    record = {f["name"]: "x" for f in v1["fields"]} | {"started_at": 0, "finished_at": 0, "error": None}
    buf = io.BytesIO()
    buf.write(b"\x00" + schema_id.to_bytes(4, "big"))
    fastavro.schemaless_writer(buf, parse_schema(v1, named_schemas={}), record)
    decoded = Codec(registry=SchemaRegistry(url)).decode(buf.getvalue())
    assert isinstance(decoded, AuditRef) and decoded.seq == 0 and decoded.chain_id == ""


def test_an_unreachable_registry_fails_at_start_without_leaking_credentials() -> None:
    port = free_port()
    with pytest.raises(RegistryError) as caught:
        Codec(registry=SchemaRegistry(f"http://user:s3cret@127.0.0.1:{port}"))
    assert "unreachable" in str(caught.value) and "s3cret" not in str(caught.value)
