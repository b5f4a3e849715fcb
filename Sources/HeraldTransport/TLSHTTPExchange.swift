import CLibWebSockets
import HeraldCore

/// One plain HTTP request (the server API, health) on a TLS connection. libwebsockets terminates TLS, so
/// the acceptor cannot peek at the first request, and every TLS connection goes to lws's HTTP role; a
/// request that is not an upgrade is rebuilt here from lws's header table, its body gathered from lws's
/// body callbacks, and answered by the same `HTTPEndpoints` as on a plain connection.
///
/// One request per connection: the answer says `connection: close` and the connection closes once it is
/// sent. lws 4.1.6 misreads a request pipelined after one with a body and then spins (see `FirstRequest`);
/// closing after the first answer means lws never parses a second request. A `GET /connection/sse` is
/// answered with an event stream, sent until either side ends it.
final class TLSHTTPExchange: SessionOutput {
    /// The whole exchange, body and a late (durable) answer included, gets this long.
    static let timeoutSeconds: Int32 = 60
    private let wsi: OpaquePointer
    private unowned let loop: EventLoop
    private var request: HTTPRequest
    private var answered = false
    /// Bytes of the answer (or the event stream) not yet handed to lws.
    private var output: [UInt8] = []
    /// The event stream this exchange became, if it did.
    private var stream: DataSubscriber?
    private var address = ""
    /// Set once the last bytes are in `output`: the connection closes when they are sent.
    private var finished = false

    private init(wsi: OpaquePointer, loop: EventLoop, request: HTTPRequest) {
        self.wsi = wsi
        self.loop = loop
        self.request = request
    }

    static func of(_ wsi: OpaquePointer) -> TLSHTTPExchange? {
        OpaqueUserData.object(of: wsi) as? TLSHTTPExchange
    }

    static func release(_ wsi: OpaquePointer) {
        guard let exchange = of(wsi) else { return }
        if let stream = exchange.stream {
            stream.closed()
            exchange.loop.server.countClient(from: exchange.address, -1)
        }
        OpaqueUserData.detach(from: wsi)
    }

    /// `LWS_CALLBACK_HTTP`: the head is parsed. Answers now unless a body is to come.
    static func begin(_ wsi: OpaquePointer, loop: EventLoop) -> Int32 {
        var headers: [(name: String, value: String)] = []
        for (name, value) in [("upgrade", HTTPHeaders.value(wsi, WSI_TOKEN_UPGRADE)),
                              ("authorization", HTTPHeaders.value(wsi, WSI_TOKEN_HTTP_AUTHORIZATION)),
                              ("x-api-key", HTTPHeaders.custom(wsi, "x-api-key:")),
                              ("origin", HTTPHeaders.value(wsi, WSI_TOKEN_ORIGIN)),
                              ("host", HTTPHeaders.value(wsi, WSI_TOKEN_HOST)),
                              ("last-event-id", HTTPHeaders.custom(wsi, "last-event-id:"))] {
            if let value { headers.append((name, value)) }
        }
        let (method, path) = methodAndPath(wsi)
        var request = HTTPRequest(method: method, path: path, minorVersion: 1, headers: headers)
        request.query = HTTPHeaders.queryParameters(wsi)
        let exchange = TLSHTTPExchange(wsi: wsi, loop: loop, request: request)
        OpaqueUserData.attach(exchange, to: wsi)
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, timeoutSeconds)

        let length = HTTPHeaders.value(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH)
        if HTTPHeaders.value(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) != nil {
            exchange.answer(.error(411, "send the body with Content-Length", closesConnection: true))
        } else if let length, let count = Int(length), count > loop.server.settings.apiBodyLimit {
            exchange.answer(.error(413, "body larger than herald.http_api_body_limit", closesConnection: true))
        } else if let length, Int(length) ?? 0 > 0 || method == "POST" {
            // lws calls back with the body, then BODY_COMPLETION (also for a POST with length 0).
        } else {
            exchange.serve()
        }
        return 0
    }

    /// `LWS_CALLBACK_HTTP_BODY`: lws delivers at most Content-Length bytes, which `begin` bounded.
    func receive(_ chunk: UnsafeRawBufferPointer) {
        guard !answered else { return }
        request.body.append(contentsOf: chunk)
    }

    /// `LWS_CALLBACK_HTTP_BODY_COMPLETION`.
    func bodyComplete() {
        guard !answered else { return }
        serve()
    }

    private func serve() {
        if request.path == DataStreamRequest.eventStreamPath { return openEventStream() }
        let later = LoopCallback(inbox: loop.core.inbox) { [weak self] (response: HTTPResponse) in
            self?.answer(response)
        }
        let handoff = AnswerHandoff()
        loop.server.endpoints.respond(to: request, peerIsLoopback: HTTPHeaders.peerIsLoopback(wsi)) { response in
            if handoff.takeLater(response) { later(response) }
        }
        if let response = handoff.returned() { answer(response) }
        // Publications this request made for this loop's subscribers go out now (as on plain HTTP).
        loop.core.drainInbox()
    }

    private func openEventStream() {
        let address = HTTPHeaders.peerAddress(wsi) ?? ""
        do throws(HTTPError) {
            answered = true  // by the stream, whose head it sends
            stream = try EventStreamOpening.open(request, address: address, loop: loop, output: self)
            self.address = address
            lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0)
        } catch {
            answered = false
            answer(.error(error.status, error.message, closesConnection: true))
        }
    }

    private func answer(_ response: HTTPResponse) {
        guard !answered else { return }
        answered = true
        output = response.serialized(keepAlive: false)
        finished = true
        lws_callback_on_writable(wsi)
    }

    // MARK: Event stream output

    /// Called by the stream's subscriber only.
    func send(_ frame: Frame) {
        guard !finished else { return }
        finished = !EventStreamOpening.append(frame, to: &output, wsi: wsi, loop: loop)
    }

    func close(_ disconnect: Disconnect) {
        guard !finished else { return }
        loop.server.node.metrics.disconnect(code: disconnect.code)
        finished = true
        lws_callback_on_writable(wsi)
    }

    var queuedBytes: Int { stream == nil ? 0 : output.count }

    /// `LWS_CALLBACK_HTTP_WRITEABLE`: hands lws up to one chunk (lws keeps what the socket did not take and
    /// calls back once it is sent); once everything is sent and the exchange finished, closes by returning -1.
    func writeable() -> Int32 {
        if !output.isEmpty {
            let count = min(output.count, TransportSettings.sendChunkSize)
            // LWS_WRITE_HTTP: plain bytes; HTTP/1.1 over TLS needs no headroom in front.
            let written = output.withUnsafeMutableBufferPointer { lws_write(wsi, $0.baseAddress!, count, LWS_WRITE_HTTP) }
            if written < 0 { return -1 }
            output.removeFirst(count)
        }
        if !output.isEmpty || lws_partial_buffered(wsi) != 0 {
            lws_callback_on_writable(wsi)
            return 0
        }
        return finished ? -1 : 0
    }

    /// lws keeps each method's target under its own token.
    private static func methodAndPath(_ wsi: OpaquePointer) -> (String, String) {
        let methods: [(String, lws_token_indexes)] = [
            ("GET", WSI_TOKEN_GET_URI), ("POST", WSI_TOKEN_POST_URI), ("PUT", WSI_TOKEN_PUT_URI),
            ("DELETE", WSI_TOKEN_DELETE_URI), ("PATCH", WSI_TOKEN_PATCH_URI), ("OPTIONS", WSI_TOKEN_OPTIONS_URI),
            ("HEAD", WSI_TOKEN_HEAD_URI),
        ]
        for (method, token) in methods {
            if let path = HTTPHeaders.value(wsi, token) { return (method, path) }
        }
        return ("", "")
    }
}
