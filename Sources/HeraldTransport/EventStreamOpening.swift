import CLibWebSockets
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

    /// Appends `frame` to a stream's unsent `output` and asks to write, under `client.queue_max_size`. At the
    /// bound the stream is a slow reader: counted, what waits is dropped, and the connection gets 3 s to close
    /// (a reader that stopped reading may never make the socket writable again); false then, and the caller
    /// ends the stream.
    static func append(_ frame: Frame, to output: inout [UInt8], wsi: OpaquePointer, loop: EventLoop) -> Bool {
        defer { lws_callback_on_writable(wsi) }
        guard output.count + frame.count <= loop.server.settings.queueMaxBytes else {
            loop.server.node.refusals.count("slow_client")
            loop.server.node.metrics.disconnect(code: Disconnect.slow.code)
            output.removeAll()
            lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 3)
            return false
        }
        output.append(contentsOf: frame.bytes)
        return true
    }
}
