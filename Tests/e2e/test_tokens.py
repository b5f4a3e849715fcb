"""Connection and subscription tokens (JWT), as Centrifugo SDKs and hand-made clients present them: keys of
every kind, refusals and their counters, expiry, refresh and sub_refresh, server-side subscriptions, the
`herald token` command, and logs that never show a secret or a token."""
import asyncio
import base64
import hashlib
import hmac
import json
import subprocess
import time

import jwt
import pytest
import websockets
from centrifuge import Client, ClientEventHandler, SubscriptionEventHandler
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from conftest import API_KEY, E2E_HERALD_BIN, base_config
from wsclient import RawClient

SECRET = "hmac-secret-of-the-token-tests-0123456789"
SUB_SECRET = "hmac-secret-of-subscription-tokens-only-42"
GRACE = {"expired_close_delay": "1s", "expired_sub_close_delay": "1s"}
PRIVATE = {"name": "private", "presence": True}  # no allow_* flag: token holders only


def run(coroutine):
    return asyncio.run(coroutine)


def now():
    return int(time.time())


def token(sub="alice", key=SECRET, algorithm="HS256", ttl=60, headers=None, **claims):
    """A JWT for `sub`, expiring in `ttl` seconds (None: no exp)."""
    payload = {"sub": sub, **claims}
    if ttl is not None:
        payload["exp"] = now() + ttl
    return jwt.encode(payload, key, algorithm, headers=headers)


def sub_token(channel, sub="alice", key=SECRET, ttl=60, **claims):
    return token(sub, key, ttl=ttl, channel=channel, **claims)


def token_config(keys=None, namespaces=(), **client):
    return base_config(client={"token": keys or {"hmac_secret_key": SECRET}, **GRACE, **client},
                       channel={"namespaces": list(namespaces)})


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header, payload, sign=lambda signing_input: b""):
    """A JWT put together by hand, for what PyJWT refuses to make."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def refused_counts(server):
    status, body = server.api("info", {})
    assert status == 200, body
    return body["result"]["nodes"][0].get("refused", {})


async def raw_connect(server, token):
    """A raw client that sent connect with `token`, and the reply."""
    client = await RawClient.open(server.ws_url)
    [command_id] = await client.send({"connect": {"token": token}})
    return client, await client.reply(command_id)


async def subscribe_with(client, channel, token):
    reply = await client.call("subscribe", {"channel": channel, "token": token})
    assert "subscribe" in reply, reply
    return reply["subscribe"]


async def connect_refused(server, token):
    """Connects with `token`; returns the close (code, reason), failing at once if the connect is answered."""
    client = await RawClient.open(server.ws_url)
    await client.send({"connect": {"token": token}})
    try:
        answer = await client.recv()
    except websockets.ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, None)
    await client.close()
    raise AssertionError(f"the connect was answered: {answer}")


class ConnectionEvents(ClientEventHandler):
    """An SDK client's connection events, and publications of its server-side subscriptions."""

    def __init__(self):
        self.log = []
        self.client_ids = []
        self.connected = asyncio.Event()
        self.publications = asyncio.Queue()

    async def on_connected(self, ctx):
        self.client_ids.append(ctx.client)
        self.log.append("connected")
        self.connected.set()

    async def on_disconnected(self, ctx):
        self.log.append(("disconnected", ctx.code))

    async def on_connecting(self, ctx):
        if ctx.code != 0:  # 0: the first connect
            self.log.append(("connecting", ctx.code))

    async def on_publication(self, ctx):
        await self.publications.put((ctx.channel, ctx.pub.data))


class SubscriptionEvents(SubscriptionEventHandler):
    def __init__(self):
        self.publications = asyncio.Queue()
        self.log = []

    async def on_subscribed(self, ctx):
        self.log.append("subscribed")

    async def on_unsubscribed(self, ctx):
        self.log.append(("unsubscribed", ctx.code))

    async def on_subscribing(self, ctx):
        if ctx.code != 0:
            self.log.append(("subscribing", ctx.code))

    async def on_publication(self, ctx):
        await self.publications.put(ctx.pub)


def counting(make):
    """An SDK get_token callback that makes a fresh token each call and counts the calls."""
    async def get_token(*channel):
        get_token.calls += 1
        return make(*channel)
    get_token.calls = 0
    return get_token


async def sdk_client(server, **options):
    events = ConnectionEvents()
    client = Client(server.ws_url, events=events, max_reconnect_delay=0.3, **options)
    client.test_events = events
    await client.connect()
    await asyncio.wait_for(events.connected.wait(), 5)
    return client


# --- keys -------------------------------------------------------------------------------------------------

def public_pem(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def keys():
    """Key pairs, and for each another of the same kind (a stranger's)."""
    return {
        "hmac": "an-hmac-secret-for-the-key-kinds-test-" * 2, "hmac-other": "someone-elses-hmac-secret-" * 3,
        "rsa": rsa.generate_private_key(65537, 2048), "rsa-other": rsa.generate_private_key(65537, 2048),
        "p256": ec.generate_private_key(ec.SECP256R1()), "p256-other": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()), "p384-other": ec.generate_private_key(ec.SECP384R1()),
    }


def jwk(private_key, kid):
    algorithm = RSAAlgorithm if isinstance(private_key, rsa.RSAPrivateKey) else ECAlgorithm
    return {**json.loads(algorithm.to_jwk(private_key.public_key())), "kid": kid}


# --- 1. HS256 through the SDK: user, conn_info, publication info -------------------------------------------

def test_hs256_token_user_and_info_through_the_sdk(start_herald):
    server = start_herald(token_config(namespaces=[{
        "name": "room", "presence": True, "allow_subscribe_for_client": True,
        "allow_presence_for_subscriber": True, "allow_publish_for_subscriber": True}]))

    async def scenario():
        alice = await sdk_client(server, token=token("alice", info={"name": "Alice"}))
        bob = await sdk_client(server, token=token("bob"))
        alice_room = alice.new_subscription("room:1", SubscriptionEvents())
        bob_events = SubscriptionEvents()
        bob_room = bob.new_subscription("room:1", bob_events)
        for subscription in (alice_room, bob_room):
            await subscription.subscribe()
            await subscription.ready(timeout=5)

        presence = (await bob_room.presence()).clients
        alice_id, bob_id = alice.test_events.client_ids[0], bob.test_events.client_ids[0]
        assert {client_id: (info.user, info.conn_info) for client_id, info in presence.items()} == {
            alice_id: ("alice", {"name": "Alice"}), bob_id: ("bob", None)}

        await alice_room.publish({"text": "hi"})
        pub = await asyncio.wait_for(bob_events.publications.get(), 5)
        assert pub.data == {"text": "hi"}
        assert (pub.info.user, pub.info.client, pub.info.conn_info) == ("alice", alice_id, {"name": "Alice"})
        await alice.disconnect()
        await bob.disconnect()

    run(scenario())


# --- 2. RSA, ECDSA and JWKS keys ----------------------------------------------------------------------------

KEY_CASES = {
    # id: (where the key is configured, algorithm, signing key, header kid or None)
    "hmac-hs384": ("hmac_secret_key", "HS384", "hmac", None),
    "hmac-hs512": ("hmac_secret_key", "HS512", "hmac", None),
    "rsa-pem-file-rs256": ("rsa_public_key", "RS256", "rsa", None),
    "rsa-pem-file-rs512": ("rsa_public_key", "RS512", "rsa", None),
    "ecdsa-inline-es256": ("ecdsa_public_key", "ES256", "p256", None),
    "ecdsa-inline-es384": ("ecdsa_public_key", "ES384", "p384", None),
    "jwks-rsa": ("jwks_file", "RS256", "rsa", "rsa-1"),
    "jwks-ec-p256": ("jwks_file", "ES256", "p256", "ec-1"),
    "jwks-ec-p384": ("jwks_file", "ES384", "p384", "ec-2"),
}


@pytest.mark.parametrize("case", KEY_CASES)
def test_key_kinds(start_herald, keys, tmp_path, case):
    source, algorithm, signer, kid = KEY_CASES[case]
    if source == "hmac_secret_key":
        key_config = {"hmac_secret_key": keys["hmac"]}
    elif source == "rsa_public_key":
        (tmp_path / "rsa.pem").write_text(public_pem(keys["rsa"]))
        key_config = {"rsa_public_key": str(tmp_path / "rsa.pem")}
    elif source == "ecdsa_public_key":
        key_config = {"ecdsa_public_key": public_pem(keys[signer])}
    else:
        jwks = [jwk(keys["rsa"], "rsa-1"), jwk(keys["p256"], "ec-1"), jwk(keys["p384"], "ec-2")]
        (tmp_path / "jwks.json").write_text(json.dumps({"keys": jwks}))
        key_config = {"jwks_file": str(tmp_path / "jwks.json")}
    server = start_herald(token_config(key_config))
    headers = {"kid": kid} if kid else None

    async def scenario():
        client, reply = await raw_connect(server, token("alice", keys[signer], algorithm, headers=headers))
        assert reply["connect"]["expires"] is True and 55 <= reply["connect"]["ttl"] <= 60, reply
        await client.close()
        stranger = token("alice", keys[signer + "-other"], algorithm, headers=headers)
        assert await connect_refused(server, stranger) == (3500, "invalid token")
        expected = {"token_bad_signature": 1}
        if kid:
            for other_kid in ({"kid": "nobody"}, None):  # a JWKS picks keys by kid only
                assert await connect_refused(server, token("alice", keys[signer], algorithm, headers=other_kid)) == (
                    3500, "invalid token")
            expected["token_unknown_key"] = 2
        assert refused_counts(server) == expected

    run(scenario())


# --- 3. refusals, each counted by kind ----------------------------------------------------------------------

AUDIENCE, ISSUER = "herald-tests", "https://auth.example"
# A token whose algorithm has no key configured: Herald counts it a bad signature (Centrifugo says "disabled
# JWT algorithm"); either kind will do, the refusal is what matters.
NO_KEY_FOR_ALGORITHM = ("token_bad_signature", "token_unsupported_algorithm")


def claims(**changes):
    """Claims the refusal server accepts, with `changes` (None removes a claim)."""
    merged = {"sub": "alice", "exp": now() + 60, "aud": AUDIENCE, "iss": ISSUER, **changes}
    return {name: value for name, value in merged.items() if value is not None}


def rs256(keys, headers=None, **changes):
    return jwt.encode(claims(**changes), keys["rsa"], "RS256", headers=headers)


def tampered(keys):
    header, _, signature = rs256(keys).split(".")
    return f"{header}.{b64url(json.dumps(claims(sub='root')).encode())}.{signature}"


def hs256_keyed_with_the_public_pem(keys):
    """The classic algorithm confusion: HMAC keyed with the RSA public key everyone may know."""
    pem = public_pem(keys["rsa"]).encode()
    return hand_made({"alg": "HS256", "typ": "JWT"}, claims(),
                     lambda signing_input: hmac.new(pem, signing_input, hashlib.sha256).digest())


REFUSALS = {  # id: (bad token made from the keys, the refusal kind counted)
    "alg-none": (lambda keys: hand_made({"alg": "none", "typ": "JWT"}, claims()), "token_unsupported_algorithm"),
    "alg-unknown": (lambda keys: hand_made({"alg": "PS256"}, claims(), lambda _: b"sig"),
                    "token_unsupported_algorithm"),
    "hs256-keyed-with-the-rsa-public-pem": (hs256_keyed_with_the_public_pem, NO_KEY_FOR_ALGORITHM),
    "es256-without-an-ecdsa-key": (lambda keys: jwt.encode(claims(), keys["p256"], "ES256"), NO_KEY_FOR_ALGORITHM),
    "crit-header": (lambda keys: rs256(keys, headers={"crit": ["exp"]}), "token_unsupported_algorithm"),
    "three-dots": (lambda keys: "a.b.c", "token_malformed"),
    "random-text": (lambda keys: "not a token at all", "token_malformed"),
    "payload-not-json": (lambda keys: ".".join(b64url(part) for part in (b'{"alg":"RS256"}', b"[[[", b"x")),
                         "token_malformed"),
    "signed-by-another-key": (lambda keys: jwt.encode(claims(), keys["rsa-other"], "RS256"), "token_bad_signature"),
    "tampered-payload": (tampered, "token_bad_signature"),
    "wrong-audience": (lambda keys: rs256(keys, aud="someone-else"), "token_wrong_audience"),
    "no-audience": (lambda keys: rs256(keys, aud=None), "token_wrong_audience"),
    "wrong-issuer": (lambda keys: rs256(keys, iss="https://evil.example"), "token_wrong_issuer"),
    "sub-not-a-string": (lambda keys: rs256(keys, sub=42), "token_bad_claims"),
    "exp-not-a-number": (lambda keys: rs256(keys, exp="tomorrow"), "token_bad_claims"),
    "channels-not-a-list": (lambda keys: rs256(keys, channels="news"), "token_bad_claims"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_bad_connection_tokens_are_refused_and_counted(start_herald, keys, case):
    server = start_herald(token_config({"rsa_public_key": public_pem(keys["rsa"]),
                                        "audience": AUDIENCE, "issuer": ISSUER}))
    make, kind = REFUSALS[case]

    async def scenario():
        client, reply = await raw_connect(server, rs256(keys))  # the server does accept a good token
        assert "connect" in reply, reply
        await client.close()
        assert await connect_refused(server, make(keys)) == (3500, "invalid token")
        counts = refused_counts(server)
        assert list(counts.values()) == [1] and list(counts)[0] in (kind if isinstance(kind, tuple) else [kind]), counts

    run(scenario())


def test_empty_token_means_no_token(start_herald):
    server = start_herald(token_config())

    async def scenario():
        client, reply = await raw_connect(server, "")  # as Centrifugo: anonymous, where that is allowed
        assert "expires" not in reply["connect"], reply
        await client.close()
        assert refused_counts(server) == {}

    run(scenario())


def test_token_not_yet_valid_is_answered_like_an_expired_one(start_herald):
    server = start_herald(token_config())

    async def scenario():
        client, reply = await raw_connect(server, token(nbf=now() + 300))
        assert reply.get("error") == {"code": 109, "message": "token expired"}, reply
        await client.close()
        assert refused_counts(server) == {"token_not_yet_valid": 1}

    run(scenario())


def test_subscription_token_is_not_a_connection_token(start_herald):
    server = start_herald(token_config(namespaces=[PRIVATE]))

    async def scenario():
        assert await connect_refused(server, sub_token("private:room")) == (3500, "invalid token")

    run(scenario())


# --- 4. an expired token at connect ------------------------------------------------------------------------

def test_expired_token_at_connect(start_herald):
    server = start_herald(token_config())

    async def scenario():
        client, reply = await raw_connect(server, token(ttl=-10))
        assert reply["error"] == {"code": 109, "message": "token expired"}, reply
        # The connection stays open: the client may connect again with a fresh token.
        [command_id] = await client.send({"connect": {"token": token()}})
        assert (await client.reply(command_id))["connect"]["expires"] is True
        await client.close()

        get_token = counting(lambda: token(ttl=60))
        sdk = await sdk_client(server, token=token(ttl=-10), get_token=get_token)
        assert get_token.calls >= 1
        assert refused_counts(server) == {"token_expired": 2}
        await sdk.disconnect()

    run(scenario())


# --- 5. refresh ---------------------------------------------------------------------------------------------

def test_sdk_refreshes_its_token_and_stays_connected(start_herald):
    server = start_herald(token_config())

    async def scenario():
        get_token = counting(lambda: token(ttl=3))
        client = await sdk_client(server, token=token(ttl=3), get_token=get_token)
        await asyncio.sleep(6.5)  # past two expiries, each with its 1 s grace
        assert get_token.calls >= 1
        assert client.test_events.log == ["connected"], client.test_events.log
        assert len(client.test_events.client_ids) == 1
        await client.disconnect()

    run(scenario())


def test_connection_not_refreshed_is_closed_after_the_grace(start_herald):
    server = start_herald(token_config())

    async def closed_after_expiry(token_text, expiry):
        """Seconds from the token's expiry to the close."""
        client, reply = await raw_connect(server, token_text)
        assert reply["connect"]["expires"] is True and reply["connect"]["ttl"] <= 2, reply
        assert await client.closed(timeout=6) == (3005, "connection expired")
        return time.time() - expiry

    async def scenario():
        expiry = now() + 2
        plain = token(ttl=None, exp=expiry)
        overridden = token(ttl=3600, expire_at=expiry)  # expire_at wins over exp for the connection
        never, reply = await raw_connect(server, token(ttl=60, expire_at=0))
        assert "expires" not in reply["connect"], reply
        delays = await asyncio.gather(closed_after_expiry(plain, expiry), closed_after_expiry(overridden, expiry))
        # The 1 s grace, plus up to 1 s of clock leeway on exp.
        assert all(0.7 <= delay <= 3 for delay in delays), f"closed {delays} s after the expiry"
        assert (await never.call("ping", {})).get("ping") == {}, "expire_at 0 must never expire"
        await never.close()

    run(scenario())


def test_raw_refresh_replies_and_refusals(start_herald):
    server = start_herald(token_config())

    async def scenario():
        client, reply = await raw_connect(server, token("alice", ttl=30))
        refreshed = await client.call("refresh", {"token": token("alice", ttl=120)})
        assert refreshed["refresh"]["client"] == reply["connect"]["client"], refreshed
        assert refreshed["refresh"]["expires"] is True and 115 <= refreshed["refresh"]["ttl"] <= 120
        assert "version" in refreshed["refresh"]

        await client.send({"refresh": {"token": token("mallory")}})
        assert await client.closed() == (3500, "invalid token")

        client, _ = await raw_connect(server, token("alice"))
        await client.send({"refresh": {"token": token("alice", key="not-the-secret-but-long-enough-for-pyjwt")}})
        assert await client.closed() == (3500, "invalid token")

        client, _ = await raw_connect(server, token("alice"))
        await client.send({"refresh": {"token": token("alice", ttl=-5)}})
        assert await client.closed() == (3005, "connection expired")

    run(scenario())


# --- 6. subscription tokens ---------------------------------------------------------------------------------

def sub_token_config(**client):
    everyone = {"name": "everyone", "allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True}
    return token_config(namespaces=[PRIVATE, everyone],
                        subscription_token={"enabled": True, "hmac_secret_key": SUB_SECRET}, **client)


def test_subscription_token_admits_to_a_private_channel(start_herald):
    server = start_herald(sub_token_config())

    async def scenario():
        raw, _ = await raw_connect(server, token("alice"))
        assert (await raw.call("subscribe", {"channel": "private:room"}))["error"] == {
            "code": 103, "message": "permission denied"}
        await raw.close()

        client = await sdk_client(server, token=token("alice", info={"name": "Alice"}))
        events = SubscriptionEvents()
        subscription = client.new_subscription("private:room", events, token=sub_token(
            "private:room", key=SUB_SECRET, info={"role": "moderator"}))
        await subscription.subscribe()
        await subscription.ready(timeout=5)
        assert server.api("publish", {"channel": "private:room", "data": {"n": 1}}) == (200, {"result": {}})
        assert (await asyncio.wait_for(events.publications.get(), 5)).data == {"n": 1}
        presence = server.api("presence", {"channel": "private:room"})[1]["result"]["presence"]
        assert [(info["user"], info.get("conn_info"), info.get("chan_info")) for info in presence.values()] == [
            ("alice", {"name": "Alice"}, {"role": "moderator"})]

        # An expired token: the SDK gets a fresh one from get_token and subscribes.
        get_token = counting(lambda channel: sub_token(channel, key=SUB_SECRET))
        late = client.new_subscription("private:late", SubscriptionEvents(), get_token=get_token,
                                       token=sub_token("private:late", key=SUB_SECRET, ttl=-10))
        await late.subscribe()
        await late.ready(timeout=5)
        assert get_token.calls >= 1
        await client.disconnect()

    run(scenario())


def test_chan_info_in_join_and_client_publications(start_herald):
    # No subscription_token section: subscription tokens are checked with client.token's key.
    server = start_herald(token_config(namespaces=[{
        **PRIVATE, "join_leave": True, "allow_presence_for_subscriber": True, "allow_publish_for_subscriber": True}]))

    async def scenario():
        client, reply = await raw_connect(server, token("alice", info={"name": "Alice"}))
        info = {"user": "alice", "client": reply["connect"]["client"], "conn_info": {"name": "Alice"},
                "chan_info": {"role": "moderator"}}
        [subscribe_id] = await client.send({"subscribe": {
            "channel": "private:room", "join_leave": True, "token": sub_token("private:room", info=info["chan_info"])}})
        assert "subscribe" in await client.reply(subscribe_id)
        assert await client.push() == {"channel": "private:room", "join": {"info": info}}  # its own join
        assert (await client.call("publish", {"channel": "private:room", "data": 1})).get("publish") == {}
        assert await client.push() == {"channel": "private:room", "pub": {"data": 1, "info": info}}
        await client.close()

    run(scenario())


SUB_MISMATCHES = {  # a valid token for another channel or user: disconnect, as Centrifugo
    "another-channel": lambda: sub_token("private:other", key=SUB_SECRET),
    "another-user": lambda: sub_token("private:room", sub="bob", key=SUB_SECRET),
    "anonymous-user": lambda: sub_token("private:room", sub="", key=SUB_SECRET),
}


@pytest.mark.parametrize("case", SUB_MISMATCHES)
def test_subscription_token_for_another_channel_or_user_disconnects(start_herald, case):
    server = start_herald(sub_token_config())

    async def scenario():
        client, _ = await raw_connect(server, token("alice"))
        await client.send({"subscribe": {"channel": "private:room", "token": SUB_MISMATCHES[case]()}})
        assert await client.closed() == (3500, "invalid token")
        assert client.lines == [], client.lines

    run(scenario())


SUB_INVALID = {  # id: (channel, a token that does not verify)
    "connection-key": ("private:room", lambda: sub_token("private:room", key=SECRET)),  # not subscription_token's
    "no-channel-claim": ("private:room", lambda: token("alice", key=SUB_SECRET)),
    "malformed": ("private:room", lambda: "a.b.c"),
    "bad-token-for-an-open-channel": ("everyone:room", lambda: sub_token("everyone:room", key=SECRET)),
}


@pytest.mark.parametrize("case", SUB_INVALID)
def test_invalid_subscription_token_is_refused_like_centrifugo(start_herald, case):
    server = start_herald(sub_token_config())
    channel, make = SUB_INVALID[case]

    async def scenario():
        client, _ = await raw_connect(server, token("alice"))
        reply = await client.call("subscribe", {"channel": channel, "token": make()})
        assert reply.get("error") == {"code": 103, "message": "permission denied"}, reply
        assert (await client.call("ping", {})).get("ping") == {}
        await client.close()

    run(scenario())


def test_subscription_token_bound_to_another_client_disconnects(start_herald):
    server = start_herald(sub_token_config())

    async def scenario():
        client, reply = await raw_connect(server, token("alice"))
        own = sub_token("private:a", key=SUB_SECRET, client=reply["connect"]["client"])
        await subscribe_with(client, "private:a", own)
        await client.send({"subscribe": {"channel": "private:b", "token": sub_token(
            "private:b", key=SUB_SECRET, client="00000000-0000-0000-0000-000000000000")}})
        assert await client.closed(timeout=2) == (3500, "invalid token")

    run(scenario())


def test_subscription_token_expiry_claims(start_herald):
    server = start_herald(sub_token_config())

    async def scenario():
        client, _ = await raw_connect(server, token("alice"))
        expired = await client.call("subscribe", {"channel": "private:room",
                                                  "token": sub_token("private:room", key=SUB_SECRET, ttl=-5)})
        assert expired["error"] == {"code": 109, "message": "token expired"}, expired
        reply = await subscribe_with(client, "private:room", sub_token("private:room", key=SUB_SECRET))
        assert reply["expires"] is True and 55 <= reply["ttl"] <= 60, reply
        # expire_at wins over exp for the subscription's lifetime; 0 means it never expires.
        reply = await subscribe_with(client, "private:a", sub_token("private:a", key=SUB_SECRET, expire_at=now() + 20))
        assert reply["expires"] is True and 15 <= reply["ttl"] <= 20, reply
        assert await subscribe_with(client, "private:b", sub_token("private:b", key=SUB_SECRET, expire_at=0)) == {}
        await client.close()

        anonymous = await RawClient.open(server.ws_url)  # an anonymous connection's token has sub ""
        await anonymous.connect()
        reply = await anonymous.call("subscribe", {"channel": "private:room",
                                                   "token": sub_token("private:room", sub="", key=SUB_SECRET)})
        assert "subscribe" in reply, reply
        await anonymous.close()
        assert refused_counts(server) == {"token_expired": 1}

    run(scenario())


def test_sub_refresh_keeps_subscriptions_and_expiry_ends_them(start_herald):
    server = start_herald(sub_token_config())

    async def sdk_refreshes():
        get_token = counting(lambda channel: sub_token(channel, key=SUB_SECRET, ttl=2))
        client = await sdk_client(server, token=token("alice"))
        events = SubscriptionEvents()
        subscription = client.new_subscription("private:sdk", events, get_token=get_token)
        await subscription.subscribe()
        await subscription.ready(timeout=5)
        await asyncio.sleep(5)  # two expiries with their grace
        assert get_token.calls >= 3, get_token.calls  # the subscribe, then at least two sub_refreshes
        assert events.log == ["subscribed"], events.log
        server.api("publish", {"channel": "private:sdk", "data": "still subscribed"})
        assert (await asyncio.wait_for(events.publications.get(), 5)).data == "still subscribed"
        assert client.test_events.log == ["connected"]
        await client.disconnect()

    async def raw_expires():
        client, _ = await raw_connect(server, token("alice"))
        await subscribe_with(client, "private:raw", sub_token("private:raw", key=SUB_SECRET, ttl=60))
        expired = await client.call("sub_refresh", {"channel": "private:raw",
                                                    "token": sub_token("private:raw", key=SUB_SECRET, ttl=-5)})
        assert expired["error"] == {"code": 109, "message": "token expired"}, expired
        refreshed = await client.call("sub_refresh", {"channel": "private:raw",
                                                      "token": sub_token("private:raw", key=SUB_SECRET, ttl=2)})
        assert refreshed["sub_refresh"]["expires"] is True and refreshed["sub_refresh"]["ttl"] <= 2, refreshed
        started = time.monotonic()
        assert await client.push(timeout=6) == {"channel": "private:raw", "unsubscribe": {
            "code": 2501, "reason": "subscription expired"}}
        assert 1.0 <= time.monotonic() - started <= 4.5
        assert server.api("presence_stats", {"channel": "private:raw"})[1] == {"result": {
            "num_clients": 0, "num_users": 0}}
        # The connection outlives the subscription and may subscribe again with a fresh token.
        await subscribe_with(client, "private:raw", sub_token("private:raw", key=SUB_SECRET))
        server.api("publish", {"channel": "private:raw", "data": "again"})
        assert await client.push() == {"channel": "private:raw", "pub": {"data": "again"}}
        await client.close()

    async def scenario():
        await asyncio.gather(sdk_refreshes(), raw_expires())

    run(scenario())


def test_sub_refresh_with_a_bad_token(start_herald):
    """Another channel's or user's token is a replay: the connection goes. One that does not verify is only
    refused (103), as at subscribe."""
    server = start_herald(sub_token_config())

    async def refresh_with(sub_refresh_token):
        client, _ = await raw_connect(server, token("alice"))
        await subscribe_with(client, "private:room", sub_token("private:room", key=SUB_SECRET))
        await client.send({"sub_refresh": {"channel": "private:room", "token": sub_refresh_token}})
        return client

    async def scenario():
        for replayed in (sub_token("private:other", key=SUB_SECRET), sub_token("private:room", sub="bob", key=SUB_SECRET)):
            assert await (await refresh_with(replayed)).closed() == (3500, "invalid token")
        client = await refresh_with(sub_token("private:room", key=SECRET))
        assert (await client.recv())["error"] == {"code": 103, "message": "permission denied"}
        assert (await client.call("ping", {})).get("ping") == {}
        await client.close()

    run(scenario())


# --- 7. server-side subscriptions from the channels claim ---------------------------------------------------

def test_channels_claim_subscribes_at_connect(start_herald):
    server = start_herald(token_config(namespaces=[PRIVATE]))

    async def scenario():
        raw, reply = await raw_connect(server, token("alice", channels=["news", "private:feed"]))
        assert set(reply["connect"]["subs"]) == {"news", "private:feed"}, reply
        sdk = await sdk_client(server, token=token("bob", channels=["news"]))
        assert server.api("publish", {"channel": "news", "data": {"n": 1}}) == (200, {"result": {}})
        server.api("publish", {"channel": "private:feed", "data": {"n": 2}})
        assert await raw.push() == {"channel": "news", "pub": {"data": {"n": 1}}}
        assert await raw.push() == {"channel": "private:feed", "pub": {"data": {"n": 2}}}
        assert await asyncio.wait_for(sdk.test_events.publications.get(), 5) == ("news", {"n": 1})
        await raw.close()
        await sdk.disconnect()

    run(scenario())


def test_channels_claim_on_a_channel_with_history_joins_at_its_position(start_herald):
    """A server-side subscription to a channel with history starts where the stream is at connect: the
    reply gives that position, and every later publication arrives once, in order."""
    feed = {"name": "feed", "history_size": 100, "history_ttl": "60s"}
    server = start_herald(token_config(namespaces=[feed]))
    for n in range(2):
        server.api("publish", {"channel": "feed:1", "data": {"n": n}})

    async def scenario():
        client, reply = await raw_connect(server, token("alice", channels=["feed:1"]))
        joined = reply["connect"]["subs"]["feed:1"]
        assert joined["positioned"] is True and joined["offset"] == 2 and joined["epoch"], reply
        for n in range(2, 5):
            server.api("publish", {"channel": "feed:1", "data": {"n": n}})
        pushes = [await client.push() for _ in range(3)]
        assert [(p["pub"]["offset"], p["pub"]["data"]["n"]) for p in pushes] == [(3, 2), (4, 3), (5, 4)]
        await client.close()

    run(scenario())


def test_channels_claim_beyond_the_channel_limit_is_cut_at_the_limit(start_herald):
    server = start_herald(token_config(namespaces=[PRIVATE], channel_limit=1))

    async def scenario():
        client, reply = await raw_connect(server, token("alice", channels=["news", "private:feed"]))
        assert list(reply["connect"]["subs"]) == ["news"], reply
        await client.close()

    run(scenario())


def test_channels_claim_with_an_unknown_namespace(start_herald):
    server = start_herald(token_config())

    async def scenario():
        client, reply = await raw_connect(server, token("alice", channels=["news", "nowhere:x"]))
        assert reply.get("error") == {"code": 102, "message": "unknown channel"}, reply
        await client.close()

    run(scenario())


# --- 8. herald token ---------------------------------------------------------------------------------------

def herald_token(*args):
    return subprocess.run([E2E_HERALD_BIN, "token", *args], capture_output=True, text=True, timeout=10)


def test_herald_token_command(start_herald, tmp_path):
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(sub_token_config()))
    server = start_herald(config_path)

    def mint(*args):
        result = herald_token("-c", str(config_path), *args)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    connection = mint("-u", "alice", "--ttl", "120", "--info", '{"name":"Alice"}', "--channels", "news,alerts")
    claims = jwt.decode(connection, SECRET, ["HS256"])
    assert (claims["sub"], claims["info"], claims["channels"]) == ("alice", {"name": "Alice"}, ["news", "alerts"])
    assert now() + 110 <= claims["exp"] <= now() + 121
    # The configuration has a subscription_token key of its own: subscription tokens are signed with it.
    subscription = mint("-u", "alice", "--channel", "private:room")
    assert jwt.decode(subscription, SUB_SECRET, ["HS256"])["channel"] == "private:room"
    assert "exp" not in jwt.decode(mint("-u", "bob", "--ttl", "0"), SECRET, ["HS256"])
    assert jwt.decode(mint("-u", "bob", "--secret", "x" * 40), "x" * 40, ["HS256"])["sub"] == "bob"

    assert herald_token("-c", str(config_path), "-u", "bob", "--info", "{not json").returncode != 0
    (tmp_path / "keyless.json").write_text("{}")
    keyless = herald_token("-c", str(tmp_path / "keyless.json"), "-u", "bob")
    assert keyless.returncode != 0 and keyless.stdout == "" and "secret" in keyless.stderr

    async def scenario():
        client, reply = await raw_connect(server, connection)
        assert set(reply["connect"]["subs"]) == {"news", "alerts"} and reply["connect"]["ttl"] <= 120
        assert (await subscribe_with(client, "private:room", subscription))["ttl"] <= 3600
        presence = server.api("presence", {"channel": "private:room"})[1]["result"]["presence"]
        assert [(info["user"], info["conn_info"]) for info in presence.values()] == [("alice", {"name": "Alice"})]
        await client.close()

    run(scenario())


# --- 9. no secret and no token in the log ------------------------------------------------------------------

def test_debug_log_shows_no_secret_and_no_token(start_herald):
    server = start_herald({**sub_token_config(), "log": {"level": "debug"}})
    tokens = {
        "connection token": token("alice", info={"n": 1}, channels=["news"]),
        "refresh token": token("alice", ttl=120),
        "subscription token": sub_token("private:room", key=SUB_SECRET),
        "expired token": token("bob", ttl=-5),
        "wrongly signed token": token("carol", key="a-wrong-secret-long-enough-for-pyjwt"),
        "another user's token": token("mallory"),
    }

    async def scenario():
        client, _ = await raw_connect(server, tokens["connection token"])
        assert "refresh" in await client.call("refresh", {"token": tokens["refresh token"]})
        await subscribe_with(client, "private:room", tokens["subscription token"])
        await client.call("sub_refresh", {"channel": "private:room", "token": tokens["subscription token"]})
        expired, reply = await raw_connect(server, tokens["expired token"])
        assert reply["error"]["code"] == 109
        await expired.close()
        assert (await connect_refused(server, tokens["wrongly signed token"]))[0] == 3500
        await client.send({"refresh": {"token": tokens["another user's token"]}})
        assert (await client.closed())[0] == 3500
        assert server.api("publish", {"channel": "news", "data": 1})[0] == 200
        assert server.api("info", {}, key="a-wrong-api-key")[0] == 401

    run(scenario())
    assert server.stop() == 0
    log = server.log_path.read_text(errors="replace")
    assert "herald listening" in log, log
    secrets = {"HMAC secret": SECRET, "subscription HMAC secret": SUB_SECRET, "API key": API_KEY}
    for name, text in tokens.items():
        header, payload, signature = text.split(".")
        secrets.update({name: text, f"{name}'s payload": payload, f"{name}'s signature": signature})
    leaked = [name for name, secret in secrets.items() if secret in log]
    assert not leaked, f"the log shows {leaked}"
