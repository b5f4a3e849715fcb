"""uWebSockets (via socketify) as a fan-out peer: uws_server.py PORT

  subscribe: ws://127.0.0.1:PORT/CHANNEL  (topic = path without the leading slash)
  publish:   POST http://127.0.0.1:PORT/publish/CHANNEL with the payload as body
             -> app.publish(CHANNEL, body, TEXT); uWS's C++ fans it out, one text frame per subscriber.

socketify's App.run() drives libuv from asyncio with UV_RUN_NOWAIT in a polling loop (measured here:
57% CPU at 200 msg/s to one subscriber, against 3% when blocking; 4% when idle), so instead we run socketify's own libuv loop blocking
(UVLoop.run() = uv_run(UV_RUN_DEFAULT)). Nothing here may then depend on asyncio: every handler is a
plain callback, and the body is read with res.on_data() (res.get_data() returns an asyncio future).
"""
import signal
import sys

from socketify import App, AppListenOptions, OpCode

port = int(sys.argv[1])
app = App(lifespan=False)


def upgrade(res, req, context):
    # The open handler cannot see the URL, so carry the topic from the upgrade request as user data.
    topic = req.get_url()[1:]
    res.upgrade(req.get_header("sec-websocket-key"), req.get_header("sec-websocket-protocol"),
                req.get_header("sec-websocket-extensions"), context, topic)


def publish(res, req):
    topic = req.get_parameter(0)
    chunks = []

    def on_data(res, chunk, is_end):
        if chunk:
            chunks.append(chunk)
        if is_end:
            app.publish(topic, b"".join(chunks), OpCode.TEXT)
            res.end("ok")

    res.on_data(on_data)  # also registers an abort handler, so a dropped request is safe


app.ws("/*", {
    "compression": 0,                 # CompressOptions.DISABLED
    "max_payload_length": 16 * 1024,
    "max_backpressure": 1024 * 1024,  # 1 MiB per subscriber; uWS drops publications to a socket beyond it
    "idle_timeout": 960,              # uWS's maximum (seconds)
    "send_pings_automatically": True, # ping an idle subscriber instead of closing it at the timeout
    "upgrade": upgrade,
    "open": lambda ws: ws.subscribe(ws.get_user_data()),
    # A close handler must exist: socketify frees the per-socket user data only after calling it.
    "close": lambda ws, code, message: None,
})
app.post("/publish/:topic", publish)
app.any("/*", lambda res, req: res.write_status(404).end("not found"))


# uWS calls the listen handler synchronously; on failure socketify raises inside a cffi callback (only
# printed), so check for the listen socket ourselves rather than run without one.
# options=1 is LIBUS_LISTEN_EXCLUSIVE_PORT: uSockets otherwise sets SO_REUSEPORT, and a second server
# on a busy port would start "successfully" and share it.
app.listen(AppListenOptions(port=port, host="127.0.0.1", options=1),
           lambda config: print(f"uws listening on 127.0.0.1:{config.port}", flush=True))
if getattr(app, "socket", None) is None:
    sys.exit(f"uws: cannot listen on port {port}")
# Python's SIGINT handler would only run between callbacks; let signals kill the process directly.
signal.signal(signal.SIGINT, signal.SIG_DFL)
app.loop.uv_loop.run()  # socketify UVLoop.run(): uv_run(loop, UV_RUN_DEFAULT), blocks until stopped
