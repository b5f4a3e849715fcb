/// The admin console's own endpoints: its page (`GET /admin`, `/admin/admin.js`, `/admin/admin.css`) and its
/// login (`POST /admin/auth` with `{"password": …}`, answered `{"token": …}`). Everything the page shows
/// comes from Herald's public endpoints, with that token: `/api/*` (`Authorization: token …`), `/metrics`,
/// and `/connection/websocket`. The files are embedded in the `herald` binary and the token is signed by
/// HeraldAuth: both are handed in, so HeraldCore holds neither.
import Synchronization

public struct AdminConsole: Sendable {
    public struct File: Sendable {
        public let contentType: String
        public let bytes: [UInt8]

        public init(contentType: String, bytes: [UInt8]) {
            self.contentType = contentType
            self.bytes = bytes
        }
    }

    /// By name under `/admin/`; "" is the page itself.
    let files: [String: File]
    /// `admin.password`; `admin.insecure` hands out tokens without one.
    let password: String
    let insecure: Bool
    /// A fresh admin token, valid from `now` (Unix seconds).
    let issueToken: @Sendable (_ now: Int64) -> String
    private let attempts = LoginAttempts()

    public init(files: [String: File], password: String, insecure: Bool,
                issueToken: @escaping @Sendable (_ now: Int64) -> String) {
        self.files = files
        self.password = password
        self.insecure = insecure
        self.issueToken = issueToken
    }

    /// Nothing here may be cached: the page changes with Herald, the login answer is a credential. The page
    /// runs only its own script and cannot be framed (the token sits in its session storage).
    static let noStore = "cache-control: no-store"
    static let pagePolicy = "content-security-policy: default-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'"

    /// Answers a request whose path is `/admin` or under `/admin/`.
    func respond(to request: HTTPRequest, refusals: RefusalCounter) -> HTTPResponse {
        if request.path == "/admin/auth" {
            guard request.method == "POST" else { return .error(405, "use POST") }
            return login(request.body, refusals: refusals)
        }
        let name = request.path == "/admin" ? "" : String(request.path.dropFirst("/admin/".count))
        guard let file = files[name] else { return .error(404, "not found") }
        guard request.method == "GET" else { return .error(405, "use GET") }
        return HTTPResponse(status: 200, body: file.bytes, contentType: file.contentType,
                            headers: [Self.noStore, Self.pagePolicy, "x-content-type-options: nosniff"])
    }

    /// A wrong password is counted as `admin_password`. A request without one is the page asking whether
    /// it needs one (`admin.insecure` does not): that is not a guess, and is not counted.
    private func login(_ body: [UInt8], refusals: RefusalCounter) -> HTTPResponse {
        let presented = (try? JSONParser.parse(body))?.objectValue?["password"]?.stringValue
        if presented != nil, !insecure, !attempts.take() {
            refusals.count("admin_login_rate")
            return HTTPResponse(status: 429, body: Array(#"{"error":{"code":429,"message":"too many login attempts"}}"#.utf8),
                                headers: [Self.noStore])
        }
        let accepted = insecure || (!password.isEmpty && presented.map {
            APIAuthorization.constantTimeEqual(Array($0.utf8), Array(password.utf8))
        } == true)
        guard accepted else {
            if presented != nil { refusals.count("admin_password") }
            return HTTPResponse(status: 401, body: Array(#"{"error":{"code":401,"message":"wrong password"}}"#.utf8),
                                headers: [Self.noStore])
        }
        var out = JSONWriter(capacity: 256)
        out.appendRaw("{\"token\":")
        out.appendString(issueToken(wallSeconds()))
        out.appendRaw("}")
        return HTTPResponse(status: 200, body: out.bytes, headers: [Self.noStore])
    }
}

/// Password attempts node-wide: 10 at once, then one every 6 s, so guessing is slow whoever guesses.
private final class LoginAttempts: Sendable {
    private let bucket = Mutex(TokenBucket(rate: 1, burst: 10, now: monotonicMilliseconds(), per: 6_000)!)

    func take() -> Bool {
        bucket.withLock { $0.take(now: monotonicMilliseconds()) }
    }
}
