/// Checks a JWT's signature and its standard claims (`exp`, `nbf`, `aud`, `iss`). The crypto lives in
/// HeraldAuth (swift-crypto); HeraldCore reads only the claims a verifier hands back.
public protocol TokenVerifier: Sendable {
    /// The token's claims once its signature and standard claims check out at `now` (Unix seconds).
    func verify(_ token: String, now: Int64) -> Result<VerifiedClaims, TokenRefusal>
}

/// A verified token's payload: the parsed claims and the bytes they were parsed from, so a claim such as
/// `info` reaches subscribers exactly as the issuer wrote it.
public struct VerifiedClaims: Sendable {
    public let claims: JSONObject
    public let payload: [UInt8]

    public init(claims: JSONObject, payload: [UInt8]) {
        self.claims = claims
        self.payload = payload
    }

    /// The raw JSON of one claim, as written in the token.
    public func raw(_ claim: String) -> [UInt8]? {
        claims.rawRange(of: claim).map { Array(payload[$0]) }
    }
}

/// Why a token was refused; the raw value names the counter and the log line (never the token itself).
public enum TokenRefusal: String, Error, Sendable, CaseIterable {
    /// Not three base64url parts, or a header or payload that is not a JSON object.
    case malformed = "token_malformed"
    /// `alg` is `none`, unknown, or of a kind no configured key can check.
    case unsupportedAlgorithm = "token_unsupported_algorithm"
    /// `kid` names no key of the JWKS file, or no key is configured for tokens at all.
    case unknownKey = "token_unknown_key"
    case badSignature = "token_bad_signature"
    case expired = "token_expired"
    /// `nbf` is in the future.
    case notYetValid = "token_not_yet_valid"
    case wrongAudience = "token_wrong_audience"
    case wrongIssuer = "token_wrong_issuer"
    /// A Herald claim has the wrong type (`sub` not a string, `channels` not strings, ...), a connection
    /// token carries a `channel`, or a subscription token is for another channel, user or client.
    case badClaims = "token_bad_claims"

    /// Refused for its time only (expired, not yet valid): a fresh token from the issuer will do, so the
    /// client is told 109 and its SDK asks for one.
    public var isTimely: Bool { self == .expired || self == .notYetValid }
}
