import HeraldCore

/// What plain and TLS connections share for Server-Sent Events (`GET /connection/sse`): opening the stream
/// (origin, connection limits, the request's channels and token, then the loop's data subscriber, which sends
/// the response head through the connection) and the bound on what a stream may have waiting.
enum EventStreamOpening {
    /// The stream, or the refusal to answer with (the connection then closes). An open stream counts as a
    /// client connection; whoever opened it uncounts it when the connection closes.
    static func open(_ request: HTTPRequest, address: String, loop: EventLoop,
                     output: SessionOutput) throws(HTTPError) -> DataSubscriber {
        let server: ServerShared = loop.server
        guard request.method == "GET" else { throw HTTPError(status: 405, message: "use GET") }
        let origin = request.header("origin")
        guard server.settings.origins.allows(origin: origin, host: request.header("host")) else {
            throw HTTPError(status: 403, message: "origin not allowed")
        }
        if let refusal = server.refusal(ofClientFrom: address) {
            throw HTTPError(status: refusal.status, message: refusal.message)
        }
        let streamRequest = try DataStreamRequest(
            path: request.path, query: request.query, lastEventID: request.header("last-event-id"),
            authorization: request.header("authorization"), node: server.node)
        let subscriber = try loop.core.openDataStream(streamRequest, output: output, origin: origin,
                                                      now: monotonicMilliseconds())
        server.countClient(from: address, 1)
        return subscriber
    }

    /// Whether `frame` fits behind `buffered` bytes under `client.queue_max_size`; at the bound the stream is
    /// a slow reader, counted here, and the caller drops what waits and closes.
    static func fits(_ frame: Frame, behind buffered: Int, loop: EventLoop) -> Bool {
        guard buffered + frame.count > loop.server.settings.queueMaxBytes else { return true }
        loop.server.node.refusals.count("slow_client")
        loop.server.node.metrics.disconnect(code: Disconnect.slow.code)
        return false
    }
}
