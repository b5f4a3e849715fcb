"""Namespace permissions (Centrifugo's allow_* options) as anonymous connections, users with a connection
token and holders of a subscription token see them, frame by frame. test_protocol.py already covers
anonymous connections publishing and asking presence, test_history.py anonymous history; this covers
the rest: subscribe across the three kinds of connection, authenticated users and subscription-token
holders for publish, presence and history, and user-limited channels."""
import asyncio
import time

import jwt
import pytest

from conftest import base_config
from wsclient import RawClient

SECRET = "hmac-secret-of-the-permission-tests-0123456789"
ANONYMOUS = ""
DENIED, NOT_AVAILABLE = 103, 108


def token(sub, **claims):
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 300, **claims}, SECRET, "HS256")


def config(*namespaces):
    return base_config(client={"token": {"hmac_secret_key": SECRET}}, channel={"namespaces": list(namespaces)})


async def connect_as(server, user):
    """A raw client connected as `user` (ANONYMOUS: no token)."""
    client = await RawClient.open(server.ws_url)
    [command_id] = await client.send({"connect": {"token": token(user)} if user != ANONYMOUS else {}})
    reply = await client.reply(command_id)
    assert "connect" in reply, reply
    return client


def outcome(reply, command):
    """"ok" when the command succeeded, else the error code (a disconnect would time out instead)."""
    if command in reply:
        return "ok"
    assert set(reply) == {"id", "error"}, reply
    return reply["error"]["code"]


# --- subscribe: three kinds of connection x three namespaces ----------------------------------------------

SUBSCRIBE_NAMESPACES = [
    {"name": "everyone", "allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True},
    {"name": "members", "allow_subscribe_for_client": True},
    {"name": "private"},
]


@pytest.mark.parametrize("user, with_token, namespace, expected", [
    # (anonymous without a token in `everyone` and `private`: test_protocol.py)
    pytest.param(ANONYMOUS, False, "members", DENIED, id="anonymous-members"),
    pytest.param("alice", False, "everyone", "ok", id="user-everyone"),
    pytest.param("alice", False, "members", "ok", id="user-members"),
    pytest.param("alice", False, "private", DENIED, id="user-private"),
    pytest.param("alice", True, "everyone", "ok", id="user-with-sub-token-everyone"),
    pytest.param("alice", True, "members", "ok", id="user-with-sub-token-members"),
    pytest.param("alice", True, "private", "ok", id="user-with-sub-token-private"),
    pytest.param(ANONYMOUS, True, "members", "ok", id="anonymous-with-sub-token-members"),
    pytest.param(ANONYMOUS, True, "private", "ok", id="anonymous-with-sub-token-private"),
])
def test_subscribe_permissions(start_herald, user, with_token, namespace, expected):
    server = start_herald(config(*SUBSCRIBE_NAMESPACES))
    channel = f"{namespace}:room"

    async def scenario():
        client = await connect_as(server, user)
        params = {"channel": channel, **({"token": token(user, channel=channel)} if with_token else {})}
        assert outcome(await client.call("subscribe", params), "subscribe") == expected
        server.api("publish", {"channel": channel, "data": "hello"})
        if expected == "ok":
            assert await client.push() == {"channel": channel, "pub": {"data": "hello"}}
        else:  # the connection lives on, and the refused channel delivers nothing
            assert (await client.call("ping", {})).get("ping") == {}
            assert client.lines == [], client.lines
        await client.close()

    asyncio.run(scenario())


# --- publish, presence, history ----------------------------------------------------------------------------

FOR_CLIENT, FOR_SUBSCRIBER, FOR_ANONYMOUS = "allow_{}_for_client", "allow_{}_for_subscriber", "allow_{}_for_anonymous"
COMMANDS = {
    "publish": {"data": {"said": "hi"}},
    "presence": {},
    "history": {"limit": 10},
}


def cases():
    """(command, permissions, user, subscribed, expected); `subscribed`: None, "plainly" (the namespace then
    lets anyone subscribe) or "with a token"."""
    for command in COMMANDS:
        yield command, [FOR_CLIENT], "alice", None, "ok"
        yield command, [FOR_SUBSCRIBER], "alice", None, DENIED
        yield command, [FOR_SUBSCRIBER], "alice", "plainly", "ok"
        yield command, [FOR_SUBSCRIBER], "alice", "with a token", "ok"
        yield command, [], "alice", "plainly", DENIED
        yield command, [FOR_ANONYMOUS], "alice", "plainly", DENIED  # for_anonymous alone grants nothing
        yield command, [FOR_SUBSCRIBER, FOR_ANONYMOUS], ANONYMOUS, "with a token", "ok"
    # Anonymous connections and *_for_client without *_for_anonymous (publish: test_protocol.py).
    yield "presence", [FOR_CLIENT], ANONYMOUS, None, DENIED
    yield "history", [FOR_CLIENT], ANONYMOUS, None, DENIED
    yield "history", [FOR_SUBSCRIBER], ANONYMOUS, "plainly", DENIED


def case_id(case):
    command, permissions, user, subscribed, expected = case
    granted = "+".join(p.split("_")[-1] for p in permissions) or "nothing"
    return f"{command}-{granted}-{user or 'anonymous'}-{(subscribed or 'not subscribed').replace(' ', '-')}"


@pytest.mark.parametrize("command, permissions, user, subscribed, expected",
                         [pytest.param(*case, id=case_id(case)) for case in cases()])
def test_publish_presence_and_history_permissions(start_herald, command, permissions, user, subscribed,
                                                  expected):
    namespace = {"name": "ns", "presence": True, "history_size": 10, "history_ttl": "60s",
                 **{permission.format(command): True for permission in permissions}}
    if subscribed == "plainly":
        namespace.update(allow_subscribe_for_client=True, allow_subscribe_for_anonymous=True)
    server = start_herald(config(namespace))

    async def scenario():
        client = await connect_as(server, user)
        if subscribed:
            params = {"channel": "ns:1", **({"token": token(user, channel="ns:1")} if subscribed != "plainly" else {})}
            assert "subscribe" in await client.call("subscribe", params)
        reply = await client.call(command, {"channel": "ns:1", **COMMANDS[command]})
        assert outcome(reply, command) == expected, reply
        if command == "publish":  # what was published, by whom; nothing when refused
            history = server.api("history", {"channel": "ns:1", "limit": 10})[1]["result"].get("publications", [])
            assert [(pub["data"], pub["info"]["user"]) for pub in history] == (
                [({"said": "hi"}, user)] if expected == "ok" else [])
        await client.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("command", ["presence", "history"])
def test_permission_without_the_feature_is_not_available(start_herald, command):
    server = start_herald(config({"name": "ns", FOR_CLIENT.format(command): True}))  # no presence, no history

    async def scenario():
        client = await connect_as(server, "alice")
        reply = await client.call(command, {"channel": "ns:1", **COMMANDS[command]})
        assert outcome(reply, command) == NOT_AVAILABLE, reply
        await client.close()

    asyncio.run(scenario())


# --- user-limited channels ---------------------------------------------------------------------------------

@pytest.mark.parametrize("namespace, user, channel, expected", [
    pytest.param("dm", "alice", "dm:x#alice,bob", "ok", id="listed-first"),
    pytest.param("dm", "bob", "dm:x#alice,bob", "ok", id="listed-second"),
    pytest.param("dm", "alice", "dm:x#alice", "ok", id="listed-alone"),
    pytest.param("dm", "carol", "dm:x#alice,bob", DENIED, id="not-listed"),
    pytest.param("dm", "ali", "dm:x#alice,bob", DENIED, id="prefix-of-a-listed-user"),
    pytest.param("dm", ANONYMOUS, "dm:x#alice,bob", DENIED, id="anonymous"),
    pytest.param("dm", ANONYMOUS, "dm:x#,alice", DENIED, id="anonymous-with-an-empty-entry"),
    pytest.param("dm", "alice", "dm:x", DENIED, id="no-user-list"),
    pytest.param("closed", "alice", "closed:x#alice,bob", DENIED, id="namespace-without-the-option"),
])
def test_user_limited_channels(start_herald, namespace, user, channel, expected):
    server = start_herald(config({"name": "dm", "allow_user_limited_channels": True}, {"name": "closed"}))

    async def scenario():
        client = await connect_as(server, user)
        assert outcome(await client.call("subscribe", {"channel": channel}), "subscribe") == expected
        await client.close()

    asyncio.run(scenario())


def test_user_limited_channel_stays_limited_where_clients_may_subscribe(start_herald):
    server = start_herald(config({"name": "dm", "allow_user_limited_channels": True,
                                  "allow_subscribe_for_client": True}))

    async def scenario():
        alice, carol = await connect_as(server, "alice"), await connect_as(server, "carol")
        assert outcome(await alice.call("subscribe", {"channel": "dm:x#alice,bob"}), "subscribe") == "ok"
        assert outcome(await carol.call("subscribe", {"channel": "dm:plain"}), "subscribe") == "ok"
        assert outcome(await carol.call("subscribe", {"channel": "dm:x#alice,bob"}), "subscribe") == DENIED
        await alice.close()
        await carol.close()

    asyncio.run(scenario())


def test_private_prefix_channels_need_a_token(start_herald):
    server = start_herald(config())  # base_config: channels without a namespace are open to all

    async def scenario():
        client = await connect_as(server, "alice")
        with_token = {"channel": "$secret", "token": token("alice", channel="$secret")}
        assert outcome(await client.call("subscribe", with_token), "subscribe") == "ok"
        assert outcome(await client.call("subscribe", {"channel": "$other"}), "subscribe") == DENIED
        await client.close()

    asyncio.run(scenario())
