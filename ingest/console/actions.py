"""The console's writes, one function per button, each calling the same public functions as
the operator API (streams/actions.py, streams/notify_redrive.py, notify/probe.py), so an
action from the console takes the same event path: published to its topic, applied by the
check stage in order, seen by every downstream consumer and channel.

Nothing is written here; this module only maps their refusals to a status and a sentence
(Refused) that a page shows.
"""

from __future__ import annotations

from datetime import datetime

from alertstream.config import ConfigError
from alertstream.notify.base import ChannelConfig
from alertstream.notify.channels import channels_from_settings
from alertstream.notify.outbound import allow_list, make_outbound
from alertstream.notify.probe import send_test
from alertstream.schemas.records import Silence
from alertstream.storage import channels as channel_store
from alertstream.storage.sealed import keyring_for
from alertstream.streams import actions
from alertstream.streams.notify_redrive import redrive
from alertstream.streams.silences import SilenceError

from ..api import ApiContext
from ..publisher import OutRecord, PublishError

MAX_NOTE = 4000
_UNAVAILABLE = "The broker did not acknowledge: nothing was done. Try again in a moment."


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def incident_action(
    ctx: ApiContext, incident_id: str, kind: str, *, actor: str, note: str, now: datetime
) -> str:
    """acknowledge | resolve | close | note; returns the command id."""
    if len(note) > MAX_NOTE:
        raise Refused(400, f"A note has at most {MAX_NOTE} characters.")
    try:
        async with (await ctx.pool()).connection() as conn:
            command = await actions.submit_action(
                ctx.publisher, ctx.codec, conn, incident_id=incident_id, kind=kind, actor=actor, note=note, now=now,
            )
    except actions.ActionError as exc:
        raise Refused(exc.status, exc.reason) from None
    except PublishError:
        raise Refused(503, _UNAVAILABLE) from None
    return command.command_id


def matchers_from_text(text: str) -> list[str]:
    """Pure: one matcher per line (`alertname="DiskFull"`, `instance=~"db-.*"`), blank lines ignored."""
    return [line.strip() for line in text.splitlines() if line.strip()]


async def create_silence(
    ctx: ApiContext, *, matchers: str, duration: str, comment: str, actor: str, now: datetime
) -> Silence:
    doc = {"matchers": matchers_from_text(matchers), "duration": duration.strip() or None,
           "comment": comment.strip()}
    try:
        silence = actions.silence_from_doc(doc, author=actor, now=now)
        async with (await ctx.pool()).connection() as conn:
            await actions.publish_silence(ctx.publisher, ctx.codec, conn, silence)
    except SilenceError as exc:
        raise Refused(400, str(exc)) from None
    except PublishError:
        raise Refused(503, _UNAVAILABLE) from None
    return silence


async def expire_silence(ctx: ApiContext, silence_id: str, now: datetime) -> Silence:
    try:
        async with (await ctx.pool()).connection() as conn:
            return await actions.expire_silence(ctx.publisher, ctx.codec, conn, silence_id, now)
    except actions.ActionError as exc:
        raise Refused(exc.status, exc.reason) from None
    except PublishError:
        raise Refused(503, _UNAVAILABLE) from None


async def _channel(ctx: ApiContext, name: str) -> ChannelConfig:
    channel = channels_from_settings(ctx.settings.worker).get(name)
    if channel is not None:
        return channel
    try:
        keyring = keyring_for(ctx.settings)
    except ConfigError:
        raise Refused(503, "Stored channels cannot be read: ALERTSTREAM_SECRET_KEY is not set.") from None
    channel = (await channel_store.load(await ctx.pool(), keyring, name)).get(name)
    if channel is None:
        raise Refused(404, f"No channel named {name!r}.")
    return channel


async def send_channel_test(ctx: ApiContext, name: str, now: datetime) -> tuple[bool, str]:
    """A real test message through the channel's driver, outside the ledger: (ok, what happened)."""
    channel = await _channel(ctx, name)
    out = make_outbound(allow_list(ctx.settings.notify.outbound_allow, ctx.settings.worker.webhook_url))
    try:
        return await send_test(channel, out, now)
    finally:
        await out.http.aclose()


async def retry_delivery(ctx: ApiContext, delivery_key: str, now: datetime) -> None:
    async def publish(topic: str, key: bytes, value: bytes) -> None:
        await ctx.publisher.publish([OutRecord(topic, key, value)])

    try:
        done = await redrive(await ctx.pool(), ctx.codec, publish, now, keys=[delivery_key])
    except PublishError:
        raise Refused(503, _UNAVAILABLE) from None
    if not done:
        raise Refused(409, "Only a failed or dead-lettered delivery can be retried.")
