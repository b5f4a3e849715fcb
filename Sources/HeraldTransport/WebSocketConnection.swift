import CLibWebSockets
import HeraldCore

/// One upgraded WebSocket connection on `/connection/websocket`: reassembles incoming messages for its
/// session, and drains the session's outgoing queue with one write per writable callback.
final class WebSocketConnection: SessionOutput {
    private let wsi: OpaquePointer
    private unowned let loop: EventLoop
    private var session: ClientSession!
    private var queue: OutboundQueue
    /// Bytes of a message that arrived in several reads.
    private var partialMessage: [UInt8] = []
    /// Set once the connection is to close: after the queue drains, with this code and reason.
    private var closing: Disconnect?

    init(wsi: OpaquePointer, loop: EventLoop) {
        self.wsi = wsi
        self.loop = loop
        let settings = loop.server.settings
        queue = OutboundQueue(maxBytes: settings.queueMaxBytes, maxFrames: settings.queueMaxMessages)
        loop.server.webSocketConnections.add(1, ordering: .relaxed)
        session = loop.core.openSession(output: self, now: monotonicMilliseconds())
    }

    static func of(_ wsi: OpaquePointer) -> WebSocketConnection? {
        OpaqueUserData.object(of: wsi) as? WebSocketConnection
    }

    static func release(_ wsi: OpaquePointer) {
        guard let connection = of(wsi) else { return }
        connection.session.closed()
        connection.loop.server.webSocketConnections.subtract(1, ordering: .relaxed)
        OpaqueUserData.detach(from: wsi)
    }

    /// Decides an upgrade before it happens: the path, the shutdown state, the connection limit and the
    /// subprotocol. A refusal answers with an HTTP status (404, 503, 400) and returns 1, which tells lws the
    /// response is written; 0 lets the upgrade proceed.
    static func admit(_ wsi: OpaquePointer, loop: EventLoop) -> Int32 {
        let server: ServerShared = loop.server
        if HTTPHeaders.value(wsi, WSI_TOKEN_GET_URI) != "/connection/websocket" {
            return UpgradeRefusal.send(wsi, 404, "no WebSocket endpoint at this path")
        }
        if server.shuttingDown.load(ordering: .relaxed) {
            return UpgradeRefusal.send(wsi, 503, "shutting down")
        }
        let limit = server.settings.connectionLimit
        if limit > 0 && server.webSocketConnections.load(ordering: .relaxed) >= limit {
            return UpgradeRefusal.send(wsi, 503, "connection limit reached")
        }
        if let subprotocol = HTTPHeaders.value(wsi, WSI_TOKEN_PROTOCOL), !subprotocol.isEmpty {
            // Only the JSON protocol is spoken; a Protobuf SDK must be told so instead of being misread.
            return UpgradeRefusal.send(wsi, 400, "only the Centrifuge JSON protocol is supported")
        }
        return 0
    }

    // MARK: Reading

    func receive(_ chunk: UnsafeRawBufferPointer) -> Int32 {
        if lws_frame_is_binary(wsi) != 0 {  // JSON protocol only: binary is a protocol violation
            return closeNow(code: Disconnect.badRequest.code, reason: Disconnect.badRequest.reason)
        }
        let complete = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
        let limit = loop.server.settings.messageSizeLimit
        if partialMessage.count + chunk.count > limit {
            return closeNow(code: WebSocketCloseCode.messageTooBig, reason: "message too big")
        }
        if complete && partialMessage.isEmpty {
            session.receive(Array(chunk), now: monotonicMilliseconds())
        } else {
            partialMessage.append(contentsOf: chunk)
            if complete {
                let message = partialMessage
                partialMessage = []
                session.receive(message, now: monotonicMilliseconds())
            }
        }
        return 0
    }

    // MARK: Writing

    func send(_ frame: Frame) {
        guard closing == nil else { return }
        let wasEmpty = queue.isEmpty
        guard queue.push(frame) else {
            queue.removeAll()
            close(.slow)
            // A reader that stopped reading may never make the socket writable again.
            lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 3)
            return
        }
        if wasEmpty { lws_callback_on_writable(wsi) }
    }

    func close(_ disconnect: Disconnect) {
        guard closing == nil else { return }
        closing = disconnect
        lws_callback_on_writable(wsi)
    }

    /// Writes everything queued (up to one send's worth) in one `lws_write`, or the close frame when the
    /// queue is empty and the connection is closing.
    ///
    /// lws keeps what the socket did not take in a buffer of its own and sends it on later POLLOUTs, but
    /// only while someone asks for writability: so Herald keeps asking until that buffer is empty, and
    /// never writes on top of it. The connection's queue stays the one place that grows, under its bound.
    func writeable() -> Int32 {
        if lws_send_pipe_choked(wsi) != 0 {
            lws_callback_on_writable(wsi)
            return 0
        }
        if queue.isEmpty {
            guard let closing else { return 0 }
            return closeNow(code: closing.code, reason: closing.reason)
        }
        let batch = queue.prefix(fittingIn: TransportSettings.sendChunkSize)
        let written: Int32
        if batch.count == 1 {
            written = batch[batch.startIndex].bytes.withUnsafeBufferPointer { bytes in
                // LWS_WRITE_RAW sends the bytes as they are; lws reads them and never writes to them.
                lws_write(wsi, UnsafeMutablePointer(mutating: bytes.baseAddress!), bytes.count,
                          LWS_WRITE_HTTP)
            }
        } else {
            loop.gatherBuffer.removeAll(keepingCapacity: true)
            for frame in batch { loop.gatherBuffer.append(contentsOf: frame.bytes) }
            written = loop.gatherBuffer.withUnsafeMutableBufferPointer { bytes in
                lws_write(wsi, bytes.baseAddress!, bytes.count, LWS_WRITE_HTTP)
            }
        }
        if written < 0 { return -1 }
        queue.removeFirst(batch.count)
        if !queue.isEmpty || closing != nil || lws_send_pipe_choked(wsi) != 0 {
            lws_callback_on_writable(wsi)
        }
        return 0
    }

    private func closeNow(code: Int, reason: String) -> Int32 {
        var reasonBytes = Array(reason.utf8.prefix(123))
        lws_close_reason(wsi, lws_close_status(rawValue: UInt32(code)), &reasonBytes, reasonBytes.count)
        return -1
    }
}
