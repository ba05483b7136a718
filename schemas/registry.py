"""A small client of the Confluent Schema Registry REST API: register a schema under a
subject, fetch a schema by id. Sync (httpx): the codec registers once, at start."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

import httpx

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryError(RuntimeError):
    """The registry refused or could not be reached; the message never carries credentials."""


class SchemaRegistry:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        self._where = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)  # for messages
        auth = (parts.username or "", parts.password or "") if parts.username else None
        base = parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")).geturl()
        self._client = httpx.Client(base_url=base.rstrip("/"), timeout=timeout, auth=auth,
                                    headers={"Accept": CONTENT_TYPE})

    def _call(self, method: str, path: str, **kwargs: object) -> dict[str, object]:
        try:
            response = self._client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise RegistryError(f"schema registry at {self._where} unreachable: {type(exc).__name__}") from None
        if response.status_code >= 400:
            try:
                message = response.json().get("message", "")
            except ValueError:
                message = ""
            raise RegistryError(f"schema registry at {self._where}: {response.status_code} {message}".strip())
        return response.json()  # type: ignore[no-any-return]

    def register(self, subject: str, schema: str) -> int:
        """POST /subjects/{subject}/versions: the id of the schema (existing or new)."""
        body = json.dumps({"schema": schema, "schemaType": "AVRO"})
        found = self._call("POST", f"/subjects/{quote(subject, safe='')}/versions", content=body,
                           headers={"Content-Type": CONTENT_TYPE})
        return int(str(found["id"]))

    def schema(self, schema_id: int) -> str:
        """GET /schemas/ids/{id}: the schema text."""
        return str(self._call("GET", f"/schemas/ids/{int(schema_id)}")["schema"])
