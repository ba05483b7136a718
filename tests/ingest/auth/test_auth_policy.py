"""Policies are validated on load; a bad file names the place, never a secret."""

from __future__ import annotations

import copy
import json
import logging
import pickle
from pathlib import Path
from typing import Any

import pytest

from alertstream.ingest.auth import load_policies, read_policies
from alertstream.ingest.auth.policy import (
    BasicScheme,
    GitHubScheme,
    GrafanaScheme,
    PagerDutyScheme,
    StandardWebhooksScheme,
    TokenScheme,
)

WHSEC = "whsec_YWxlcnRzdHJlYW0tdGVzdC1rZXktMDAwMQ=="

GOOD = {
    "grafana-prod": {"schemes": {"grafana": {"secrets": ["new", "old"]}}},
    "grafana-lab": {
        "schemes": {
            "grafana": {
                "secrets": ["s"],
                "signature_header": "X-Sig",
                "timestamp_header": None,
                "tolerance_s": 120,
            }
        }
    },
    "pd": {"schemes": {"pagerduty": {"secrets": ["p"]}}},
    "gh": {"schemes": {"github": {"secrets": ["g"]}}},
    "sw": {"schemes": {"standardwebhooks": {"secrets": [WHSEC], "tolerance_s": 60}}},
    "am": {
        "required": True,
        "schemes": {
            "basic": {"credentials": [{"username": "am", "password": "pw"}]},
            "token": {"tokens": ["t1", "t2"]},
        },
    },
    "dev": {"required": False},
}


def test_good_config_loads() -> None:
    policies = load_policies(GOOD)
    assert list(policies) == list(GOOD)
    assert {name: p.source for name, p in policies.items()} == {name: name for name in GOOD}
    grafana = policies["grafana-prod"].schemes[0]
    assert isinstance(grafana, GrafanaScheme)
    assert (grafana.signature_header, grafana.timestamp_header, grafana.tolerance_s) == (
        "x-grafana-alerting-signature",
        "x-grafana-alerting-timestamp",
        300,
    )
    assert [s.reveal() for s in grafana.secrets] == [b"new", b"old"]
    lab = policies["grafana-lab"].schemes[0]
    assert isinstance(lab, GrafanaScheme)
    assert (lab.signature_header, lab.timestamp_header, lab.tolerance_s) == ("x-sig", None, 120)
    assert isinstance(policies["pd"].schemes[0], PagerDutyScheme)
    assert isinstance(policies["gh"].schemes[0], GitHubScheme)
    sw = policies["sw"].schemes[0]
    assert isinstance(sw, StandardWebhooksScheme) and sw.tolerance_s == 60
    assert sw.secrets[0].reveal() == b"alertstream-test-key-0001"
    am = policies["am"]
    assert am.required and [type(s) for s in am.schemes] == [BasicScheme, TokenScheme]
    assert policies["dev"].required is False and policies["dev"].schemes == ()
    assert policies["grafana-prod"].required is True  # the default


def test_read_policies_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    assert list(read_policies(path)) == list(GOOD)


def test_read_policies_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text('{"grafana": {"schemes": {"token": {"tokens": ["sup3r-s3cret"]}}}', encoding="utf-8")
    with pytest.raises(ValueError, match="is not JSON") as raised:
        read_policies(path)
    assert "sup3r-s3cret" not in str(raised.value)
    with pytest.raises(ValueError, match="cannot read"):
        read_policies(tmp_path / "missing.json")


def one(scheme: str, options: Any) -> dict[str, Any]:
    return {"src": {"schemes": {scheme: options}}}


BAD: list[tuple[Any, str]] = [
    ([], "must be an object of source name"),
    ({"": {"required": False}}, "source name must be a non-empty string"),
    ({"src": ["grafana"]}, "auth policy 'src': must be an object"),
    ({"src": {"requried": False}}, "unknown key(s) requried"),
    ({"src": {"required": "no"}}, "'required' must be true or false"),
    ({"src": {"schemes": ["token"]}}, "'schemes' must be an object"),
    ({"src": {"schemes": {}}}, "needs at least one scheme"),
    ({"src": {}}, "needs at least one scheme"),
    (one("hmac", {"secrets": ["x-secret"]}), "unknown scheme 'hmac'; known: basic, github, grafana"),
    (one("grafana", {}), "scheme 'grafana': 'secrets' must be a non-empty list"),
    (one("grafana", {"secrets": []}), "'secrets' must be a non-empty list"),
    (one("grafana", {"secrets": "x-secret"}), "'secrets' must be a non-empty list"),
    (
        one("grafana", {"secrets": ["x-secret", ""]}),
        "'secrets' must be a non-empty list of non-empty strings",
    ),
    (one("grafana", {"secrets": ["x-secret"], "header": "X"}), "unknown key(s) header"),
    (
        one("grafana", {"secrets": ["x-secret"], "signature_header": "X Sig"}),
        "'signature_header' must be an HTTP",
    ),
    (one("grafana", {"secrets": ["x-secret"], "timestamp_header": ""}), "'timestamp_header' must be an HTTP"),
    (one("grafana", {"secrets": ["x-secret"], "tolerance_s": 0}), "'tolerance_s' must be a whole number"),
    (one("grafana", {"secrets": ["x-secret"], "tolerance_s": True}), "'tolerance_s' must be a whole number"),
    (one("grafana", {"secrets": ["x-secret"], "tolerance_s": "300"}), "'tolerance_s' must be a whole number"),
    (
        one("grafana", {"secrets": ["x-secret"], "tolerance_s": 86_401}),
        "'tolerance_s' must be a whole number",
    ),
    (one("pagerduty", {"secrets": [7]}), "scheme 'pagerduty': 'secrets' must be"),
    (one("github", {"secret": "x-secret"}), "unknown key(s) secret"),
    (
        one("standardwebhooks", {"secrets": ["x-secret"]}),
        "secrets[0]: a Standard Webhooks secret must start with",
    ),
    (
        one("standardwebhooks", {"secrets": [WHSEC, "whsec_x-secret!"]}),
        "secrets[1]: a Standard Webhooks secret must",
    ),
    (one("basic", {"credentials": []}), "'credentials' must be a non-empty list"),
    (one("basic", {"credentials": [{"username": "a:b", "password": "x-secret"}]}), "without ':'"),
    (
        one("basic", {"credentials": [{"username": "am", "password": ""}]}),
        "credentials[0]: 'password' must be",
    ),
    (one("basic", {"credentials": [{"username": "am"}]}), "credentials[0]: 'password' must be"),
    (
        one("basic", {"credentials": [{"username": "am", "password": "x-secret", "realm": "r"}]}),
        "unknown key(s) realm",
    ),
    (one("token", {"tokens": []}), "scheme 'token': 'tokens' must be a non-empty list"),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_bad_config_is_a_clear_value_error(data: Any, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        load_policies(data)
    assert message in str(raised.value)
    assert "x-secret" not in str(raised.value)


def test_policy_secrets_never_show_themselves(caplog: pytest.LogCaptureFixture) -> None:
    policies = load_policies(GOOD)
    shown = [repr(policies), str(policies), f"{policies}"]
    logging.getLogger("alertstream.test").warning("loaded %s and %r", policies, policies["am"])
    for text in [*shown, caplog.text]:
        for secret in ("new", "old", "pw", "t1", "t2", WHSEC, "YWxlcnRzdHJlYW0", "alertstream-test-key"):
            assert f"'{secret}" not in text and f"b'{secret}" not in text
        assert "Secret('***')" in text
    with pytest.raises(TypeError):
        pickle.dumps(policies["am"])
    assert copy.deepcopy(policies["am"]).schemes[0] == policies["am"].schemes[0]
