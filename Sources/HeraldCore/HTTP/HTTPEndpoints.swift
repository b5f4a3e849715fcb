/// What Herald answers over plain HTTP: `GET /health` (liveness, with the Kafka bridge's state when there is
/// one), `GET /ready` (readiness), `GET /metrics`, the server API at `POST /api/<method>`, the admin console
/// under `/admin`, and 404 for anything else. WebSocket upgrades never get here: the acceptor hands those to
/// libwebsockets. Nor does `GET /connection/sse`: an event stream needs its connection, so the transport
/// opens it (`LoopContext.openDataStream`).
public struct HTTPEndpoints: Sendable {
    public let api: ServerAPI
    public let authorization: APIAuthorization
    /// The metrics in Prometheus' text format, for `GET /metrics`; nil serves 404 there.
    public let metrics: (@Sendable () -> [UInt8])?
    /// The admin console (`admin.enabled`); nil serves 404 under `/admin`.
    public let admin: AdminConsole?

    public init(api: ServerAPI, authorization: APIAuthorization, metrics: (@Sendable () -> [UInt8])? = nil,
                admin: AdminConsole? = nil) {
        self.api = api
        self.authorization = authorization
        self.metrics = metrics
        self.admin = admin
    }

    /// Answers `request` through `answer`: at once, or later from another thread (a publish to a durable
    /// channel is answered once the durable log has it).
    public func respond(to request: HTTPRequest, peerIsLoopback: Bool,
                        answer: @escaping @Sendable (HTTPResponse) -> Void) {
        if request.header("upgrade").map(FirstRequest.namesWebSocket) == true {
            // The acceptor routes a connection by its first request only.
            return answer(.error(400, "a WebSocket upgrade must be the first request on its connection",
                                 closesConnection: true))
        }
        if request.path == "/health" {
            // Alive even when Kafka is not reachable: unbridged channels are served; the bridge says how it is.
            guard let bridge = api.node.bridge else { return answer(HTTPResponse(status: 200, body: Array("{}".utf8))) }
            var out = JSONWriter(capacity: 256)
            out.appendRaw("{\"kafka\":")
            bridge.status().write(into: &out)
            out.appendRaw("}")
            return answer(HTTPResponse(status: 200, body: out.bytes))
        }
        if request.path.hasPrefix(DataStreamRequest.webSocketPathPrefix) {
            return answer(.error(400, "a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)"))
        }
        if request.path == "/ready" {
            return answer(readiness())
        }
        if request.path == "/metrics", let metrics {
            // Open like /health: scrapers rarely carry keys; nothing in it names a channel or a user.
            return answer(HTTPResponse(status: 200, body: api.node.scrapeMetrics(metrics),
                                       contentType: "text/plain; version=0.0.4; charset=utf-8"))
        }
        if request.path == "/admin" || request.path.hasPrefix("/admin/") {
            guard let admin else { return answer(.error(404, "not found")) }
            return answer(admin.respond(to: request, refusals: api.node.refusals))
        }
        guard request.path.hasPrefix("/api/") else {
            return answer(.error(404, "not found"))
        }
        guard request.method == "POST" else {
            return answer(.error(405, "use POST"))
        }
        let authorized = authorization.allows(
            apiKeyHeader: request.header("x-api-key"),
            authorizationHeader: request.header("authorization"),
            peerIsLoopback: peerIsLoopback)
        guard authorized else {
            return answer(HTTPResponse(status: 401, body: Array(#"{"error":{"code":101,"message":"unauthorized"}}"#.utf8)))
        }
        api.handle(method: String(request.path.dropFirst("/api/".count)), body: request.body) { result in
            answer(HTTPResponse(status: result.status, body: result.body))
        }
    }

    /// 200 while Herald can take subscribers and publications: it answers (so it listens), and its durable
    /// log, if it has one, is writing. A Kafka bridge that is degraded does not make Herald unready, since
    /// unbridged channels are served without Kafka; its state is in the detail.
    private func readiness() -> HTTPResponse {
        let node = api.node
        let logFailing = node.durableWriter?.failing ?? false
        var out = JSONWriter(capacity: 256)
        out.appendRaw(logFailing ? "{\"status\":\"not ready\"" : "{\"status\":\"ready\"")
        out.appendRaw(",\"durable_log\":")
        out.appendString(node.durableWriter == nil ? "off" : logFailing ? "failing" : "ok")
        if let bridge = node.bridge {
            out.appendRaw(",\"kafka\":")
            bridge.status().write(into: &out)
        }
        out.appendRaw("}")
        return HTTPResponse(status: logFailing ? 503 : 200, body: out.bytes)
    }
}
