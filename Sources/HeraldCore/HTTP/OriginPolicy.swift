/// Which browser pages may open a WebSocket to Herald (`client.allowed_origins`, Centrifugo's option): a
/// browser sends its page's origin on every upgrade, so this keeps other sites' pages from using a visitor's
/// cookies or network position against Herald. An empty list allows only the same origin (the page came from
/// this host); patterns like `https://*.example.com` match case-insensitively, `*` allows any. A request with
/// no Origin is not from a browser page and is allowed: origins protect browsers' users, not the server.
public struct OriginPolicy: Sendable {
    private let patterns: [GlobPattern]
    private let anyOrigin: Bool

    public init(allowedOrigins: [String]) {
        anyOrigin = allowedOrigins.contains("*")
        patterns = allowedOrigins.map { GlobPattern($0.lowercased()) }
    }

    /// `origin` and `host`: the request's Origin and Host headers, nil when absent.
    public func allows(origin: String?, host: String?) -> Bool {
        guard let origin, !origin.isEmpty else { return true }
        if anyOrigin { return true }
        let page = origin.lowercased()
        guard !patterns.isEmpty else {
            guard let host, let scheme = page.firstRange(of: "://") else { return false }
            return page[scheme.upperBound...] == host.lowercased()
        }
        return patterns.contains { $0.matches(page) }
    }
}
