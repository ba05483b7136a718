"""Host agents: run checks on a machine and push the results to the edge's `cluster` driver.

    checks/<name>.py   one checker each: a pure evaluate() over a reading, and the reader of
                       /proc, /sys or the network that produces the reading
    options.py         thresholds and settings per checker: defaults, the local file, the hub's
                       per-host overrides (merged and validated in that order)
    runner.py          runs every enabled checker in its own thread under a deadline; a checker
                       that raises or hangs reports `unknown`, it never stops the others
    payload.py         the cluster driver's document (ingest/drivers/cluster.py)
    signing.py         Standard Webhooks signatures over each request
    hub.py             HTTP to the hub: push with retries and backoff, fetch the overrides
    service.py         one round (--once) and the loop

The CLI is `alertstream agent` (alertstream/commands/agent.py).
"""
