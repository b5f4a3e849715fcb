import CLibWebSockets
import HeraldCore

/// One HTTP request and its response: `GET /health`, `POST /api/<method>`, and 404 for anything else.
/// The body is collected up to `herald.http_api_body_limit`; the response is written whole as soon as it is
/// known, then the keep-alive connection waits for its next request (pipelined requests included).
final class HTTPExchange {
    private let wsi: OpaquePointer
    private unowned let loop: EventLoop
    private let path: String
    private var body: [UInt8] = []
    /// After a refusal that leaves an unread body on the socket, the connection cannot be reused.
    private var closeAfterResponse = false

    init(wsi: OpaquePointer, loop: EventLoop, path: String) {
        self.wsi = wsi
        self.loop = loop
        self.path = path
    }

    static func of(_ wsi: OpaquePointer) -> HTTPExchange? {
        OpaqueUserData.object(of: wsi) as? HTTPExchange
    }

    static func release(_ wsi: OpaquePointer) {
        if of(wsi) != nil { OpaqueUserData.detach(from: wsi) }
    }

    private var isPost: Bool { lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 }

    func begin() -> Int32 {
        if path == "/health" {
            return respond(200, Array("{}".utf8))
        }
        guard path.hasPrefix("/api/") else {
            return respond(404, Array("{\"error\":{\"code\":404,\"message\":\"not found\"}}".utf8))
        }
        guard isPost else {
            return respond(405, Array("{\"error\":{\"code\":405,\"message\":\"use POST\"}}".utf8))
        }
        let server: ServerShared = loop.server
        let authorized = server.apiAuthorization.allows(
            apiKeyHeader: HTTPHeaders.custom(wsi, "x-api-key:"),
            authorizationHeader: HTTPHeaders.value(wsi, WSI_TOKEN_HTTP_AUTHORIZATION),
            peerIsLoopback: HTTPHeaders.peerIsLoopback(wsi))
        guard authorized else {
            closeAfterResponse = true
            return respond(401, Array("{\"error\":{\"code\":101,\"message\":\"unauthorized\"}}".utf8))
        }
        if HTTPHeaders.value(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) != nil {
            // lws 4.1 does not decode chunked request bodies: say so rather than wait for one forever.
            closeAfterResponse = true
            return respond(411, Array(#"{"error":{"code":411,"message":"send the body with Content-Length"}}"#.utf8))
        }
        guard let length = HTTPHeaders.value(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH).flatMap(Int.init) else {
            return bodyComplete()  // no Content-Length: no body (what `curl -X POST` sends); lws would wait
        }
        if length > server.settings.apiBodyLimit {
            return refuseTooLarge()
        }
        return 0  // the body follows in LWS_CALLBACK_HTTP_BODY
    }

    func body(_ chunk: UnsafeRawBufferPointer) -> Int32 {
        if body.count + chunk.count > loop.server.settings.apiBodyLimit {
            return refuseTooLarge()
        }
        body.append(contentsOf: chunk)
        return 0
    }

    func bodyComplete() -> Int32 {
        let method = String(path.dropFirst("/api/".count))
        let result = loop.server.api.handle(method: method, body: body)
        return respond(result.status, result.body)
    }

    private func refuseTooLarge() -> Int32 {
        closeAfterResponse = true
        return respond(413, Array("{\"error\":{\"code\":413,\"message\":\"request body too large\"}}".utf8))
    }

    /// Writes the whole response at once and ends the exchange. Answering inside the callback that
    /// completed the request (not later, when writable) matters: lws 4.1 parses a pipelined next request only
    /// after the transaction is completed, and otherwise hands its bytes to this exchange as more body.
    private func respond(_ status: Int, _ body: [UInt8]) -> Int32 {
        let written = write(status, body)
        // The next request on this keep-alive connection gets its own exchange; the callback still holds
        // this one for the rest of the call.
        OpaqueUserData.detach(from: wsi)
        if written < 0 || closeAfterResponse { return -1 }
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
    }

    private func write(_ status: Int, _ body: [UInt8]) -> Int32 {
        let pre = Int(herald_lws_pre)
        var buffer = [UInt8](repeating: 0, count: pre + 512 + body.count)
        return buffer.withUnsafeMutableBufferPointer { raw -> Int32 in
            let start = raw.baseAddress! + pre
            var cursor: UnsafeMutablePointer<UInt8>? = start
            let end = raw.baseAddress! + raw.count
            if lws_add_http_common_headers(wsi, UInt32(status), "application/json",
                                           lws_filepos_t(body.count), &cursor, end) != 0 {
                return -1
            }
            if closeAfterResponse,
               lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, "close", 5, &cursor, end) != 0 {
                return -1
            }
            if lws_finalize_write_http_header(wsi, start, &cursor, end) != 0 { return -1 }
            guard !body.isEmpty else { return 0 }
            for (offset, byte) in body.enumerated() { start[offset] = byte }
            return lws_write(wsi, start, body.count, LWS_WRITE_HTTP_FINAL) < 0 ? -1 : 0
        }
    }
}
