/// A response (JSON unless said otherwise), serialized whole (head and body in one buffer) so the transport
/// writes it at once.
public struct HTTPResponse: Equatable, Sendable {
    public let status: Int
    public let body: [UInt8]
    /// The connection closes after this response.
    public let closesConnection: Bool
    public let contentType: String
    /// More header lines, each `name: value`.
    public let headers: [String]

    public init(status: Int, body: [UInt8], closesConnection: Bool = false,
                contentType: String = "application/json", headers: [String] = []) {
        self.status = status
        self.body = body
        self.closesConnection = closesConnection
        self.contentType = contentType
        self.headers = headers
    }

    /// `{"error":{"code":status,"message":…}}`, the shape of every HTTP-level refusal.
    public static func error(_ status: Int, _ message: String, closesConnection: Bool = false) -> HTTPResponse {
        var writer = JSONWriter(capacity: 64 + message.utf8.count)
        writer.appendRaw("{\"error\":{\"code\":")
        writer.appendInt(status)
        writer.appendRaw(",\"message\":")
        writer.appendString(message)
        writer.appendRaw("}}")
        return HTTPResponse(status: status, body: writer.bytes, closesConnection: closesConnection)
    }

    /// Status line, headers and body. `keepAlive` is false when the request asked to close (or was HTTP/1.0
    /// without keep-alive), `http10KeepAlive` when an HTTP/1.0 client asked to keep the connection.
    public func serialized(keepAlive: Bool, http10KeepAlive: Bool = false) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\ncontent-type: \(contentType)\r\n"
        head += "content-length: \(body.count)\r\n"
        for header in headers { head += header + "\r\n" }
        if closesConnection || !keepAlive {
            head += "connection: close\r\n"
        } else if http10KeepAlive {
            head += "connection: keep-alive\r\n"
        }
        head += "\r\n"
        var bytes = [UInt8]()
        bytes.reserveCapacity(head.utf8.count + body.count)
        bytes.append(contentsOf: head.utf8)
        bytes.append(contentsOf: body)
        return bytes
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }
}
