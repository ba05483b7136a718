"""Schema versions kept forever: schemas/history/<name>.v<N>.avsc holds every version of
every schema (the current one included), self-contained (named types inlined).

The codec reads data written with any of them; tests/schemas/test_evolution.py proves
each earlier version's data reads with the current schema (backward) and current data
with the previous version (forward). Changing a schema means: bump its "version", then
`python -m alertstream.schemas.evolution --snapshot` to add the new version here.
"""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import parse_schema
from fastavro.utils import generate_many

SCHEMA_DIR = Path(__file__).parent
HISTORY_DIR = SCHEMA_DIR / "history"
_HISTORY_NAME = re.compile(r"^(?P<stem>[a-z0-9_]+)\.v(?P<version>\d+)\.avsc$")
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _raw(schema_files: tuple[str, ...], directory: Path = SCHEMA_DIR) -> dict[str, dict[str, Any]]:
    """file stem -> the schema as written."""
    return {name.removesuffix(".avsc"): json.loads((directory / name).read_text()) for name in schema_files}


def _fullname(schema: dict[str, Any], namespace: str) -> str:
    name = schema["name"]
    return name if "." in name else f"{schema.get('namespace', namespace)}.{name}"


def expand(schema: dict[str, Any], named: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The schema with every named type it uses defined inline at first use (self-contained)."""
    defined: set[str] = set()

    def walk(node: Any, namespace: str) -> Any:
        if isinstance(node, str):
            full = node if "." in node or node in _PRIMITIVES else f"{namespace}.{node}"
            if full in named and full not in defined:
                return walk(named[full], namespace)
            return node
        if isinstance(node, list):
            return [walk(item, namespace) for item in node]
        if not isinstance(node, dict):
            return node
        out = dict(node)
        if node.get("type") in ("record", "enum", "fixed"):
            full = _fullname(node, namespace)
            defined.add(full)
            namespace = full.rsplit(".", 1)[0]
            out["name"] = full
            out.pop("namespace", None)
        if node.get("type") == "record":
            out["fields"] = [{**f, "type": walk(f["type"], namespace)} for f in node["fields"]]
        elif node.get("type") == "array":
            out["items"] = walk(node["items"], namespace)
        elif node.get("type") == "map":
            out["values"] = walk(node["values"], namespace)
        elif isinstance(node.get("type"), dict | list):
            out["type"] = walk(node["type"], namespace)
        return out

    return walk(schema, schema.get("namespace", ""))


def current(schema_files: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """file stem -> the current schema, expanded."""
    raw = _raw(schema_files)
    named = {_fullname(s, s.get("namespace", "")): s for s in raw.values()}
    return {stem: expand(schema, named) for stem, schema in raw.items()}


def history(directory: Path = HISTORY_DIR) -> dict[str, dict[int, dict[str, Any]]]:
    """file stem -> version -> that version's expanded schema."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for path in sorted(directory.glob("*.avsc")):
        match = _HISTORY_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path}: history files are named <schema>.v<N>.avsc")
        found.setdefault(match["stem"], {})[int(match["version"])] = json.loads(path.read_text())
    return found


def without_docs(node: Any) -> Any:
    """What matters on the wire and for resolution: docs may change without a new version."""
    if isinstance(node, dict):
        return {k: without_docs(v) for k, v in node.items() if k != "doc"}
    if isinstance(node, list):
        return [without_docs(v) for v in node]
    return node


def parse(schema: dict[str, Any]) -> Any:
    return parse_schema(schema, named_schemas={})


def incompatibility(writer: dict[str, Any], reader: dict[str, Any], samples: int = 25) -> str | None:
    """Why data written with `writer` cannot be read with `reader` (None: it can). Random records
    exercise every field, union branch and default."""
    written, readable = parse(writer), parse(reader)
    try:
        for record in generate_many(written, samples):
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, written, record)
            buf.seek(0)
            fastavro.schemaless_reader(buf, written, readable)
    except Exception as exc:  # fastavro signals resolution failures with several types
        return f"{type(exc).__name__}: {exc}"
    return None


def snapshot(schema_files: tuple[str, ...], directory: Path = HISTORY_DIR, replace: bool = False) -> list[Path]:
    """Write the current version of every schema that history does not have yet (replace: rewrite
    the current versions too — only for a version never released)."""
    directory.mkdir(exist_ok=True)
    written = []
    for stem, schema in current(schema_files).items():
        path = directory / f"{stem}.v{int(schema.get('version', 1))}.avsc"
        if replace or not path.exists():
            path.write_text(json.dumps(schema, indent=2) + "\n")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    from .codec import SCHEMA_FILES

    parser = argparse.ArgumentParser(prog="python -m alertstream.schemas.evolution")
    parser.add_argument("--snapshot", action="store_true", help="add the current versions missing from history/")
    parser.add_argument("--replace", action="store_true",
                        help="with --snapshot: rewrite current versions too (only for versions never released)")
    args = parser.parse_args(argv)
    if args.snapshot:
        for path in snapshot(SCHEMA_FILES, replace=args.replace):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
