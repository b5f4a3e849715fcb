/// One parsed HTTP/1.x request, body included.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target without its query string.
    public var path: String
    /// The query string's parameters, decoded, in order.
    public var query: [(name: String, value: String)] = []
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// Header fields in arrival order, names lower-cased.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, path: String, minorVersion: Int = 1,
                headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.minorVersion = minorVersion
        self.headers = headers
        self.body = body
    }

    /// The first value of a header; `name` is lower case.
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    /// HTTP/1.1 keeps the connection unless told `close`; HTTP/1.0 closes it unless told `keep-alive`.
    public var keepsAlive: Bool {
        let connection = header("connection")?.lowercased() ?? ""
        return minorVersion >= 1 ? !connection.contains("close") : connection.contains("keep-alive")
    }
}

/// A request the parser refuses; it is answered with `status` and the connection closes, since where the
/// next request starts is no longer known.
public struct HTTPError: Error, Equatable, Sendable {
    public let status: Int
    public let message: String

    public init(status: Int, message: String) {
        self.status = status
        self.message = message
    }
}
