import Glibc

/// A one-shot blocking HTTP/1.1 POST over a plain socket, for `herald publish` and friends. It speaks just
/// enough HTTP for Herald's own API: no TLS, no redirects, `Connection: close`.
public enum HTTPPost {
    public struct Response: Sendable {
        public let status: Int
        public let body: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `base` is like `http://127.0.0.1:8000`; `path` like `/api/publish`.
    public static func send(base: String, path: String, body: [UInt8], headers: [String: String]) throws(Failure)
        -> Response {
        guard let (host, port) = hostAndPort(base) else {
            throw Failure(description: "expected an address like http://127.0.0.1:8000, got \(base)")
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            throw Failure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
        }
        var request = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/json\r\n"
        request += "Content-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try writeAll(fd, Array(request.utf8) + body)

        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            received.append(contentsOf: chunk[0..<count])
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let headerEnd = text.firstRange(of: "\r\n\r\n"),
              let statusText = text.split(separator: " ", maxSplits: 2).dropFirst().first,
              let status = Int(statusText)
        else { throw Failure(description: "malformed HTTP response from \(host):\(port)") }
        return Response(status: status, body: String(text[headerEnd.upperBound...]))
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "write: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    static func hostAndPort(_ base: String) -> (String, Int)? {
        guard base.hasPrefix("http://") else { return nil }
        let authority = base.dropFirst("http://".count).prefix { $0 != "/" }
        let parts = authority.split(separator: ":")
        guard let host = parts.first else { return nil }
        let port = parts.count > 1 ? Int(parts[1]) : 80
        guard let port else { return nil }
        return (String(host), port)
    }
}
