/// Splits the bytes of one keep-alive connection into requests, pipelined ones included. Bodies need a
/// `Content-Length`; chunked request bodies are refused with 411, which every API client can avoid.
///
/// Bounds: a request head of at most `maxHeadBytes` and `maxFields` header lines and query parameters (else
/// 431), a body of at most `bodyLimit` (else 413,
/// decided from `Content-Length` before the body is read). The buffer holds at most one request beyond
/// what has been handed out, plus whatever the transport's read added.
public struct HTTPRequestParser {
    public static let maxHeadBytes = 8192
    /// Header lines and query parameters (`&`-separated parts) of one request. libwebsockets 4.1 keeps at
    /// most 95 of them for an upgrade and drops a connection with more without a word, so the acceptor sends
    /// an upgrade with more to this parser, which answers.
    public static let maxFields = 64
    public let bodyLimit: Int
    private var buffer: [UInt8] = []
    /// Bytes of `buffer` already handed out as requests.
    private var consumed = 0
    /// Where the search for the end of the head resumes, so a head arriving in pieces is scanned once.
    private var scanFrom = 0
    /// A parsed head whose body has not fully arrived yet.
    private var head: (request: HTTPRequest, bodyLength: Int)?

    public init(bodyLimit: Int) {
        self.bodyLimit = bodyLimit
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if consumed > 0 && consumed == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            consumed = 0
            scanFrom = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete request, or nil until more bytes arrive.
    public mutating func nextRequest() throws(HTTPError) -> HTTPRequest? {
        if head == nil {
            let headEnd = findHeadEnd()
            if (headEnd ?? buffer.count) - consumed > Self.maxHeadBytes {
                throw HTTPError(status: 431, message: "request head larger than \(Self.maxHeadBytes) bytes")
            }
            guard let headEnd else { return nil }
            head = try Self.parseHead(buffer[consumed..<headEnd], bodyLimit: bodyLimit)
            consumed = headEnd + 4
            scanFrom = consumed
        }
        guard let (request, bodyLength) = head, buffer.count - consumed >= bodyLength else { return nil }
        var complete = request
        complete.body = Array(buffer[consumed..<consumed + bodyLength])
        consumed += bodyLength
        scanFrom = consumed
        head = nil
        compact()
        return complete
    }

    /// Index of the CR of the blank line (CRLF CRLF) that ends the head, if it has arrived.
    private mutating func findHeadEnd() -> Int? {
        var index = max(scanFrom, consumed)
        while index + 3 < buffer.count {
            if buffer[index] == 0x0D && buffer[index + 1] == 0x0A && buffer[index + 2] == 0x0D
                && buffer[index + 3] == 0x0A {
                return index
            }
            index += 1
        }
        scanFrom = max(consumed, buffer.count - 3)
        return nil
    }

    /// Drops handed-out bytes once they dominate the buffer, so a long pipelined stream stays small.
    private mutating func compact() {
        if consumed == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            consumed = 0
            scanFrom = 0
        } else if consumed >= 16 * 1024 && consumed * 2 >= buffer.count {
            buffer.removeFirst(consumed)
            scanFrom -= consumed
            consumed = 0
        }
    }

    private static func parseHead(_ bytes: ArraySlice<UInt8>, bodyLimit: Int) throws(HTTPError)
        -> (request: HTTPRequest, bodyLength: Int) {
        let malformed = HTTPError(status: 400, message: "malformed request head")
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? line.dropLast() : line
        }
        guard !lines.isEmpty else { throw malformed }
        let requestLine = lines.removeFirst().split(separator: 0x20, omittingEmptySubsequences: false)
        guard requestLine.count == 3, !requestLine[0].isEmpty, requestLine[1].first == UInt8(ascii: "/")
        else { throw malformed }
        let minorVersion: Int
        switch String(decoding: requestLine[2], as: UTF8.self) {
        case "HTTP/1.1": minorVersion = 1
        case "HTTP/1.0": minorVersion = 0
        default: throw HTTPError(status: 505, message: "only HTTP/1.0 and HTTP/1.1 are served")
        }
        let target = requestLine[1]
        if Self.fieldCount(target: target, headerLines: lines.count) > maxFields {
            throw HTTPError(status: 431, message: "more than \(maxFields) header fields and query parameters")
        }
        let question = target.firstIndex(of: UInt8(ascii: "?"))
        let path = question.map { target[..<$0] } ?? target
        var request = HTTPRequest(method: String(decoding: requestLine[0], as: UTF8.self),
                                  path: String(decoding: path, as: UTF8.self), minorVersion: minorVersion)
        if let question { request.query = QueryString.parameters(target[target.index(after: question)...]) }
        var contentLength: Int?
        for line in lines {
            // A name is a token up to the colon: no spaces, so neither `Name : v` nor obsolete folding.
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                  line[..<colon].allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            else { throw malformed }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[line.index(after: colon)...], as: UTF8.self)
                .trimmingSpaces()
            if name == "content-length" {
                guard let length = Int(value), length >= 0, contentLength == nil || contentLength == length
                else { throw HTTPError(status: 400, message: "invalid Content-Length") }
                contentLength = length
            } else if name == "transfer-encoding" {
                throw HTTPError(status: 411, message: "send the body with Content-Length")
            }
            request.headers.append((name, value))
        }
        let bodyLength = contentLength ?? 0
        if bodyLength > bodyLimit {
            throw HTTPError(status: 413, message: "request body too large")
        }
        return (request, bodyLength)
    }
}

extension HTTPRequestParser {
    /// Header lines plus the query's `&`-separated parts, empty ones included (libwebsockets counts those).
    static func fieldCount(target: some Collection<UInt8>, headerLines: Int) -> Int {
        guard let question = target.firstIndex(of: UInt8(ascii: "?")) else { return headerLines }
        return headerLines + 1 + target[question...].count { $0 == UInt8(ascii: "&") }
    }
}

extension String {
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}
