/// Who may call the HTTP server API: a caller presenting `http_api.key` (in `X-API-Key`, or
/// `Authorization: apikey KEY`), or anyone when `http_api.insecure` is set. With no key configured the API
/// never answers callers off loopback, insecure or not (development mode is insecure with no key). The admin
/// console's token (`Authorization: token TOKEN`) is accepted like the key, from any address.
public struct APIAuthorization: Sendable {
    public let key: String
    public let insecure: Bool
    /// Checks admin console tokens; nil while the console is off.
    public let adminTokens: (any TokenVerifier)?

    public init(key: String, insecure: Bool, adminTokens: (any TokenVerifier)? = nil) {
        self.key = key
        self.insecure = insecure
        self.adminTokens = adminTokens
    }

    public func allows(apiKeyHeader: String?, authorizationHeader: String?, peerIsLoopback: Bool) -> Bool {
        if let authorization = authorizationHeader, authorization.lowercased().hasPrefix("token "),
           AdminToken(String(authorization.dropFirst("token ".count)), verifier: adminTokens, now: wallSeconds()) != nil {
            return true
        }
        if key.isEmpty && !peerIsLoopback { return false }
        if insecure { return true }
        guard !key.isEmpty else { return false }
        var presented = apiKeyHeader
        if presented == nil, let authorization = authorizationHeader {
            let prefix = "apikey "
            if authorization.lowercased().hasPrefix(prefix) {
                presented = String(authorization.dropFirst(prefix.count))
            }
        }
        guard let presented else { return false }
        return Self.constantTimeEqual(Array(presented.utf8), Array(key.utf8))
    }

    /// Compares without an early exit, so response time does not reveal how much of a guess was right.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
