import CLibWebSockets
import Glibc
import HeraldCore

/// A plain HTTP/1.1 connection (health checks, the server API, Server-Sent Events) on a raw libwebsockets
/// socket: Herald parses requests as they arrive, pipelined ones included, and answers them in order. A
/// `GET /connection/sse` turns the connection into an event stream: from then on it only sends.
///
/// A response may come later than the request's turn (a publish to a durable channel is answered once the
/// durable log has it): answers wait in `answers`, in request order, until those before them are ready.
///
/// Bounds: while more than `maxPendingOutput` bytes of responses wait for a client that does not read
/// them, or more than `maxUnansweredRequests` requests wait for their answer, the connection stops
/// reading; a connection with no complete request for `idleTimeoutSeconds` is closed; the parser bounds
/// each request (`HTTPRequestParser`).
final class HTTPConnection: SessionOutput {
    static let maxPendingOutput = 256 * 1024
    static let maxUnansweredRequests = 1024
    static let idleTimeoutSeconds: Int32 = 60
    private let wsi: OpaquePointer
    private unowned let loop: EventLoop
    private var parser: HTTPRequestParser
    private let peerIsLoopback: Bool
    /// Serialized responses not yet handed to the socket.
    private var output: [UInt8] = []
    /// Requests answered or not, in order, from the oldest not yet moved to `output`.
    private var answers: [Answer] = []
    private var nextAnswerID = 0

    private struct Answer {
        let id: Int
        let request: (keepsAlive: Bool, http10: Bool)
        var response: HTTPResponse?
    }
    /// Set after a response that ends the connection: nothing more is read or answered.
    private var closing = false
    /// Set once a request opened an event stream: the connection then only sends.
    private var stream: DataSubscriber?
    private var address = ""
    private var readingPaused = false
    /// Set once the last response is sent and the sending side shut down.
    private var halfClosed = false
    /// How long a closing connection keeps reading (and discarding) after its last response.
    static let lingerSeconds: Int32 = 2

    init(wsi: OpaquePointer, loop: EventLoop) {
        self.wsi = wsi
        self.loop = loop
        parser = HTTPRequestParser(bodyLimit: loop.server.settings.apiBodyLimit)
        peerIsLoopback = HTTPHeaders.peerIsLoopback(wsi)
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, Self.idleTimeoutSeconds)
    }

    static func of(_ wsi: OpaquePointer) -> HTTPConnection? {
        OpaqueUserData.object(of: wsi) as? HTTPConnection
    }

    static func release(_ wsi: OpaquePointer) {
        guard let connection = of(wsi) else { return }
        if let stream = connection.stream {
            stream.closed()
            connection.loop.server.countClient(from: connection.address, -1)
        }
        OpaqueUserData.detach(from: wsi)
    }

    func receive(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard !closing && stream == nil else { return 0 }
        parser.append(bytes)
        serveBufferedRequests()
        // Publications this read made for this loop's subscribers go out now, as one round with the rest
        // this loop has pending, rather than in a round of their own after the wake-up.
        loop.core.drainInbox()
        return 0
    }

    /// Answers every complete request in the buffer, up to the bounds.
    private func serveBufferedRequests() {
        do {
            while !closing, stream == nil, output.count <= Self.maxPendingOutput, answers.count < Self.maxUnansweredRequests,
                  let request = try parser.nextRequest() {
                if request.path == DataStreamRequest.eventStreamPath {
                    openEventStream(request)
                    break
                }
                let id = nextAnswerID
                nextAnswerID += 1
                answers.append(Answer(id: id, request: (request.keepsAlive, request.minorVersion == 0)))
                closing = !request.keepsAlive
                lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, Self.idleTimeoutSeconds)
                let later = LoopCallback(inbox: loop.core.inbox) { [weak self] (response: HTTPResponse) in
                    self?.answered(id, response)
                }
                let handoff = AnswerHandoff()
                loop.server.endpoints.respond(to: request, peerIsLoopback: peerIsLoopback) { response in
                    if handoff.takeLater(response) { later(response) }
                }
                answers[answers.count - 1].response = handoff.returned()
            }
        } catch {
            answers.append(Answer(id: -1, request: (false, false),
                                  response: .error(error.status, error.message, closesConnection: true)))
            closing = true
        }
        moveReadyAnswers()
    }

    /// Streams events from here on, unless refused (then the refusal is the last answer). The stream's head
    /// follows every earlier answer, so it waits for none.
    private func openEventStream(_ request: HTTPRequest) {
        moveReadyAnswers()
        let address = HTTPHeaders.peerAddress(wsi) ?? ""
        do throws(HTTPError) {
            guard answers.isEmpty else {
                throw HTTPError(status: 400, message: "an event stream must not wait behind unanswered requests")
            }
            stream = try EventStreamOpening.open(request, address: address, loop: loop, output: self)
            self.address = address
            lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0)
        } catch {
            answers.append(Answer(id: -1, request: (false, false),
                                  response: .error(error.status, error.message, closesConnection: true)))
            closing = true
        }
    }

    // MARK: Event stream output

    /// Called by the stream's subscriber only (from its opening on, before `stream` is set).
    func send(_ frame: Frame) {
        guard !closing else { return }
        closing = !EventStreamOpening.append(frame, to: &output, wsi: wsi, loop: loop)
    }

    func close(_ disconnect: Disconnect) {
        guard !closing else { return }
        loop.server.node.metrics.disconnect(code: disconnect.code)
        closing = true
        lws_callback_on_writable(wsi)
    }

    var queuedBytes: Int { stream == nil ? 0 : output.count }

    private func answered(_ id: Int, _ response: HTTPResponse) {
        guard let index = answers.firstIndex(where: { $0.id == id }) else { return }
        answers[index].response = response
        moveReadyAnswers()
    }

    /// Serializes the answers whose turn has come, pauses or resumes reading by the bounds, and asks to
    /// write.
    private func moveReadyAnswers() {
        var moved = 0
        while moved < answers.count, let response = answers[moved].response {
            let request = answers[moved].request
            let keepAlive = request.keepsAlive && !response.closesConnection
            output.append(contentsOf: response.serialized(keepAlive: keepAlive, http10KeepAlive: keepAlive && request.http10))
            moved += 1
            if !keepAlive {
                // Nothing after a closing answer is sent.
                closing = true
                moved = answers.count
            }
        }
        answers.removeFirst(moved)
        let overBound = output.count > Self.maxPendingOutput || answers.count >= Self.maxUnansweredRequests
        if overBound != readingPaused {
            readingPaused = overBound
            lws_rx_flow_control(wsi, overBound ? 0 : 1)
        }
        if moved > 0 || (closing && answers.isEmpty) {
            lws_callback_on_writable(wsi)
        }
    }

    /// Hands the socket up to one chunk of responses; lws keeps whatever the kernel did not take and calls
    /// back only once that is sent.
    func writeable() -> Int32 {
        if !output.isEmpty {
            let count = min(output.count, TransportSettings.sendChunkSize)
            // LWS_WRITE_RAW is a macro for LWS_WRITE_HTTP: plain bytes, no framing.
            let written = output.withUnsafeMutableBufferPointer { lws_write(wsi, $0.baseAddress!, count, LWS_WRITE_HTTP) }
            if written < 0 { return -1 }
            output.removeFirst(count)
        }
        if output.isEmpty && closing {
            // Once lws has sent the last bytes too, end the sending side but keep reading a while: closing
            // with the client's body still arriving would reset the connection, and the client could lose
            // the answer (a 411 or 413 sent before the body was read) or fail writing the rest.
            if lws_partial_buffered(wsi) != 0 {
                lws_callback_on_writable(wsi)
            } else if !halfClosed {
                halfClosed = true
                shutdown(lws_get_socket_fd(wsi), Int32(SHUT_WR))
                lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, Self.lingerSeconds)
            }
            return 0
        }
        if readingPaused && stream == nil && output.count <= Self.maxPendingOutput {
            serveBufferedRequests()
        }
        if !output.isEmpty { lws_callback_on_writable(wsi) }
        return 0
    }
}
