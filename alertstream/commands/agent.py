"""`alertstream agent`: run host checks and push them to the hub (alertstream/agent/).

    alertstream agent --hub https://alerts.example.com            # every interval, until stopped
    alertstream agent --once --json                               # one round, printed (and pushed)
    alertstream agent --once --json --no-push                     # one round, printed only

The key and the secret are better given as ALERTSTREAM_AGENT_KEY / ALERTSTREAM_AGENT_SECRET
(an EnvironmentFile) than as flags, which any local user can read in the process list.
Exit codes: 0 done (pushed, or not asked to), 1 the push failed, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
from typing import Any
from urllib.parse import urlsplit

import orjson

from alertstream.config import Settings
from alertstream.secrets import Secret

log = logging.getLogger("alertstream.agent")

STATUS_ORDER = {"critical": 0, "warning": 1, "unknown": 2, "ok": 3}


def _loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fail(message: str) -> int:
    print(f"alertstream agent: {message}", file=sys.stderr)
    return 2


def _print_round(payload: dict[str, Any], as_json: bool, *, indent: bool) -> None:
    if as_json:
        option = orjson.OPT_INDENT_2 if indent else 0
        sys.stdout.write(orjson.dumps(payload, option=option | orjson.OPT_APPEND_NEWLINE).decode())
    else:
        alerts = sorted(payload["alerts"], key=lambda a: (STATUS_ORDER.get(a["status"], 9), a["check"]))
        for alert in alerts:
            item = ",".join(alert.get("labels", {}).values())
            name = f"{alert['check']}[{item}]" if item else alert["check"]
            print(f"{alert['status']:<9} {name:<32} {alert['message']}")
    sys.stdout.flush()


def cmd_agent(settings: Settings, args: argparse.Namespace) -> int:
    import httpx

    from alertstream.agent.hub import HubClient, HubConfig
    from alertstream.agent.identity import default_hostname, default_instance_id
    from alertstream.agent.options import AgentOptions, OptionsError, read_document, split_local
    from alertstream.agent.service import Agent
    from alertstream.agent.signing import parse_secret

    hub_url = args.hub or settings.agent.hub_url
    key = args.key or settings.agent.key.reveal()
    secret_text = args.secret or settings.agent.secret.reveal()
    config_path = args.config or settings.agent.config_path
    push = not args.no_push
    try:
        local, identity = split_local(read_document(config_path)) if config_path else ({}, {})
        AgentOptions.resolve(local)
    except OptionsError as exc:
        return _fail(f"options: {exc}")
    if push and not hub_url:
        return _fail("--hub (or ALERTSTREAM_AGENT_HUB) is required to push; --no-push only prints")
    if hub_url and not hub_url.startswith(("http://", "https://")):
        return _fail("--hub must be an http:// or https:// URL")
    try:
        secret = parse_secret(secret_text) if secret_text else None
    except ValueError as exc:  # the message never repeats the secret
        return _fail(f"--secret: {exc}")
    if args.interval is not None and args.interval <= 0:
        return _fail("--interval must be a positive number of seconds")
    if args.attempts < 1 or args.timeout <= 0:
        return _fail("--attempts must be at least 1 and --timeout positive")

    if hub_url.startswith("http://") and (key or secret) and not _loopback(hub_url):
        log.warning("the hub URL is plain http: the API key crosses the network readable; use https")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request would drown the rounds
    # No redirects: the Authorization header must never follow one to another host.
    with httpx.Client(follow_redirects=False) as http:
        hub = None
        if hub_url:
            config = HubConfig(hub_url, Secret(key) if key else None, secret, timeout_s=args.timeout)
            hub = HubClient(config, http)
        agent = Agent(
            instance_id=args.instance_id or identity.get("instance_id") or default_instance_id(),
            hostname=args.hostname or identity.get("hostname") or default_hostname(),
            local_options=local,
            hub=hub,
        )
        if args.once:
            payload, outcome = agent.run_once(push=push, attempts=args.attempts)
            _print_round(payload, args.json, indent=True)
            if outcome is not None and not outcome.delivered:
                print(f"alertstream agent: push failed ({outcome.reason})", file=sys.stderr)
                return 1
            return 0
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: agent.stop.set())
        agent.run_forever(
            interval_s=args.interval,
            push=push,
            on_round=(lambda p: _print_round(p, args.json, indent=False)) if (args.json or not push) else None,
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("agent", help="run host checks and push them to the hub (a host agent)",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=cmd_agent)
    parser.add_argument("--hub", help="the edge's base URL (ALERTSTREAM_AGENT_HUB)")
    parser.add_argument("--key", help="API key (ALERTSTREAM_AGENT_KEY)")
    parser.add_argument("--secret", help="whsec_… signing secret (ALERTSTREAM_AGENT_SECRET)")
    parser.add_argument("--config", help="local options file, JSON (ALERTSTREAM_AGENT_CONFIG)")
    parser.add_argument("--instance-id", help="this host's id at the hub (default: derived from /etc/machine-id)")
    parser.add_argument("--hostname", help="this host's name (default: the system's)")
    parser.add_argument("--once", action="store_true", help="one round, then exit")
    parser.add_argument("--json", action="store_true", help="print the pushed document as JSON")
    parser.add_argument("--no-push", action="store_true", help="print the results; send nothing")
    parser.add_argument("--interval", type=float, help="seconds between rounds (default: the options' interval_s, 60)")
    parser.add_argument("--attempts", type=int, default=4, help="push attempts with --once (default 4)")
    parser.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout in seconds (default 10)")
