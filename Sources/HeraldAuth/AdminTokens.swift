import HeraldCore

/// Admin console tokens: HS256 JWTs with `admin: true` and a 24-hour `exp`, handed out by `POST /admin/auth`
/// and signed with `admin.secret`. Under `admin.insecure` without a secret they are signed with one made at
/// start, so they end with the process.
public struct AdminTokens: Sendable {
    /// Checks the tokens this signs; HeraldCore sees it as a `TokenVerifier`.
    public let verifier: JWTVerifier
    private let secret: String
    static let lifetimeSeconds = 24 * 3600

    /// Nil while the console is off.
    public init?(_ config: HeraldConfig.Admin) throws(ConfigError) {
        guard config.enabled else { return nil }
        secret = config.secret.isEmpty ? ConfigLoader.randomSecret() : config.secret
        var keys = HeraldConfig.Client.Token()
        keys.hmacSecretKey = secret
        verifier = try JWTVerifier(keys, at: "admin")
    }

    /// A fresh token, valid from `now` (Unix seconds) for 24 hours.
    public func issue(now: Int64) -> String {
        var claims = JSONWriter(capacity: 64)
        claims.appendRaw("{\"admin\":true,\"iat\":")
        claims.appendInt(Int(now))
        claims.appendRaw(",\"exp\":")
        claims.appendInt(Int(now) + Self.lifetimeSeconds)
        claims.appendRaw("}")
        return TokenSigner.hs256(claims: claims.bytes, secret: secret)
    }
}
