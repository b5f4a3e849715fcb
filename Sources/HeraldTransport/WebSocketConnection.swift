import CLibWebSockets
import HeraldCore

/// One upgraded WebSocket connection: on `/connection/websocket` it reassembles incoming messages for its
/// protocol session; on `/ws/CHANNEL` it is a read-only data stream. Either way it drains its outgoing
/// queue with one write per writable callback.
final class WebSocketConnection: SessionOutput {
    private let wsi: OpaquePointer
    private unowned let loop: EventLoop
    private var session: ClientSession?
    private var dataStream: DataSubscriber?
    private var queue: OutboundQueue
    /// Bytes of a message that arrived in several reads.
    private var partialMessage: [UInt8] = []
    /// Set once the connection is to close: after the queue drains, with this code and reason.
    private var closing: Disconnect?
    /// Set when lws has closed the wsi: nothing may touch it after that.
    private var released = false
    /// The client's address, counted in `connectionsPerAddress` while the connection is open.
    private let address: String

    init(wsi: OpaquePointer, loop: EventLoop) {
        self.wsi = wsi
        self.loop = loop
        let settings = loop.server.settings
        queue = OutboundQueue(maxBytes: settings.queueMaxBytes, maxMessages: settings.queueMaxMessages)
        address = HTTPHeaders.peerAddress(wsi) ?? ""
        loop.server.countClient(from: address, 1)
        let path = HTTPHeaders.value(wsi, WSI_TOKEN_GET_URI) ?? ""
        guard DataStreamRequest.format(ofPath: path) == .webSocket else {
            session = loop.core.openSession(output: self, now: monotonicMilliseconds())
            return
        }
        do throws(HTTPError) {
            // Checked at the upgrade already; a join can still find `since` ahead of the channel.
            dataStream = try loop.core.openDataStream(Self.dataStreamRequest(wsi, path: path, node: loop.server.node),
                                                      output: self, origin: nil, now: monotonicMilliseconds())
        } catch {
            close(Disconnect(code: WebSocketCloseCode.policyViolation, reason: error.message))
        }
    }

    private static func dataStreamRequest(_ wsi: OpaquePointer, path: String, node: Node) throws(HTTPError) -> DataStreamRequest {
        try DataStreamRequest(path: path, query: HTTPHeaders.queryParameters(wsi), lastEventID: nil,
                              authorization: HTTPHeaders.value(wsi, WSI_TOKEN_HTTP_AUTHORIZATION), node: node)
    }

    static func of(_ wsi: OpaquePointer) -> WebSocketConnection? {
        OpaqueUserData.object(of: wsi) as? WebSocketConnection
    }

    static func release(_ wsi: OpaquePointer) {
        guard let connection = of(wsi) else { return }
        connection.released = true
        connection.session?.closed()
        connection.dataStream?.closed()
        connection.loop.server.countClient(from: connection.address, -1)
        OpaqueUserData.detach(from: wsi)
    }

    /// Decides an upgrade before it happens: the path, the page's origin, the shutdown state, the connection
    /// limits, and the subprotocol (`/connection/websocket`) or the data stream's request (`/ws/CHANNEL`). A
    /// refusal answers with an HTTP status (400, 401, 403, 404, 429, 503) and returns 1, which tells lws the
    /// response is written; 0 lets the upgrade proceed.
    static func admit(_ wsi: OpaquePointer, loop: EventLoop) -> Int32 {
        let server: ServerShared = loop.server
        let path = HTTPHeaders.value(wsi, WSI_TOKEN_GET_URI) ?? ""
        let isDataStream = DataStreamRequest.format(ofPath: path) == .webSocket
        if path != "/connection/websocket" && !isDataStream {
            return UpgradeRefusal.send(wsi, 404, "no WebSocket endpoint at this path")
        }
        if !server.settings.origins.allows(origin: HTTPHeaders.value(wsi, WSI_TOKEN_ORIGIN),
                                           host: HTTPHeaders.value(wsi, WSI_TOKEN_HOST)) {
            return UpgradeRefusal.send(wsi, 403, "origin not allowed")
        }
        if let refusal = server.refusal(ofClientFrom: HTTPHeaders.peerAddress(wsi) ?? "") {
            return UpgradeRefusal.send(wsi, refusal.status, refusal.message)
        }
        if isDataStream {
            do throws(HTTPError) {
                _ = try dataStreamRequest(wsi, path: path, node: server.node)
            } catch {
                return UpgradeRefusal.send(wsi, error.status, error.message)
            }
        } else if let subprotocol = HTTPHeaders.value(wsi, WSI_TOKEN_PROTOCOL), !subprotocol.isEmpty {
            // Only the JSON protocol is spoken; a Protobuf SDK must be told so instead of being misread.
            return UpgradeRefusal.send(wsi, 400, "only the Centrifuge JSON protocol is supported")
        }
        return 0
    }

    // MARK: Reading

    func receive(_ chunk: UnsafeRawBufferPointer) -> Int32 {
        guard let session else {
            // A data stream only sends: publishing goes through the API or /connection/websocket.
            return closeNow(code: WebSocketCloseCode.unsupportedData, reason: "read-only: this endpoint does not take messages")
        }
        if lws_frame_is_binary(wsi) != 0 {  // JSON protocol only: binary is a protocol violation
            loop.server.node.metrics.disconnect(code: Disconnect.badRequest.code)
            return closeNow(code: Disconnect.badRequest.code, reason: Disconnect.badRequest.reason)
        }
        let complete = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
        let limit = loop.server.settings.messageSizeLimit
        if partialMessage.count + chunk.count > limit {
            loop.server.node.refusals.count("message_too_big")
            loop.server.node.metrics.disconnect(code: WebSocketCloseCode.messageTooBig)
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
            loop.server.node.refusals.count("slow_client")
            queue.removeAll()
            close(.slow)
            // A reader that stopped reading may never make the socket writable again.
            lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 3)
            return
        }
        if wasEmpty { loop.markForFlush(self) }
    }

    func close(_ disconnect: Disconnect) {
        guard closing == nil else { return }
        closing = disconnect
        loop.server.node.metrics.disconnect(code: disconnect.code)
        lws_callback_on_writable(wsi)
    }

    /// lws's POLLOUT: the close when the queue has drained and the connection is closing, else more of the
    /// queue. lws calls this only once it has sent whatever an earlier write left over.
    func writeable() -> Int32 {
        if queue.isEmpty, let closing {
            return closeNow(code: closing.code, reason: closing.reason)
        }
        return writeQueued()
    }

    /// Writes what is queued (up to one send's worth) in one `lws_write`, straight away: the event loop calls
    /// this for every connection that got frames, once it has handled a batch of events. Waiting for POLLOUT
    /// instead would cost a readiness round per subscriber (with libev, two `epoll_ctl` calls).
    ///
    /// When the socket takes only part, lws keeps the rest and sends it on POLLOUT before calling
    /// `writeable()`; Herald never writes on top of that remainder, so the connection's queue stays the one
    /// place that grows, under its bound.
    func writeQueued() -> Int32 {
        guard !released else { return 0 }
        guard !queue.isEmpty, lws_partial_buffered(wsi) == 0 else {
            if !queue.isEmpty || closing != nil { lws_callback_on_writable(wsi) }
            return 0
        }
        let batch = queue.batchCount(fittingIn: TransportSettings.sendChunkSize)
        let written: Int32
        if batch == 1 {
            written = queue[0].bytes.withUnsafeBufferPointer { bytes in
                // LWS_WRITE_RAW sends the bytes as they are; lws reads them and never writes to them.
                lws_write(wsi, UnsafeMutablePointer(mutating: bytes.baseAddress!), bytes.count,
                          LWS_WRITE_HTTP)
            }
        } else {
            loop.gatherBuffer.removeAll(keepingCapacity: true)
            for offset in 0..<batch { loop.gatherBuffer.append(contentsOf: queue[offset].bytes) }
            written = loop.gatherBuffer.withUnsafeMutableBufferPointer { bytes in
                lws_write(wsi, bytes.baseAddress!, bytes.count, LWS_WRITE_HTTP)
            }
        }
        if written < 0 { return -1 }
        queue.removeFirst(batch)
        if !queue.isEmpty || closing != nil || lws_partial_buffered(wsi) != 0 {
            lws_callback_on_writable(wsi)
        }
        return 0
    }

    /// Outside its own callback a connection cannot close by returning -1: lws closes it on its next turn.
    func closeAfterFailedWrite() {
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC)
    }

    var queuedBytes: Int { queue.byteCount }
    var queuedFrames: Int { queue.count }

    private func closeNow(code: Int, reason: String) -> Int32 {
        var reasonBytes = Array(reason.utf8.prefix(123))
        lws_close_reason(wsi, lws_close_status(rawValue: UInt32(code)), &reasonBytes, reasonBytes.count)
        return -1
    }
}
