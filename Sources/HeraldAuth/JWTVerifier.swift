import HeraldCore

/// Verifies compact JWS tokens (RFC 7515/7519) against the configured keys: the header's `alg` must be one
/// Herald accepts and its key's family, the signature must check, and `exp`, `nbf`, `aud` and `iss` must
/// hold. Which claims mean what to Herald is HeraldCore's business.
public struct JWTVerifier: TokenVerifier {
    private let keys: TokenKeys
    private let audience: String
    private let issuer: String
    /// Seconds of clock difference between the issuer and Herald tolerated on `exp` and `nbf`.
    static let leeway: Int64 = 1

    /// `section` names the configuration section in errors ("client.token").
    public init(_ config: HeraldConfig.Client.Token, at section: String) throws(ConfigError) {
        keys = try TokenKeys(config, at: section)
        audience = config.audience
        issuer = config.issuer
    }

    public func verify(_ token: String, now: Int64) -> Result<VerifiedClaims, TokenRefusal> {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerBytes = Base64URL.decode(Substring(parts[0]).utf8),
              let payload = Base64URL.decode(Substring(parts[1]).utf8),
              let signature = Base64URL.decode(Substring(parts[2]).utf8),
              let header = try? JSONParser.parse(headerBytes).objectValue,
              let claims = try? JSONParser.parse(payload).objectValue
        else { return .failure(.malformed) }

        // `crit` asks for extensions Herald does not implement; RFC 7515 §4.1.11 says refuse.
        guard let algorithm = header["alg"]?.stringValue, VerificationKey.algorithms.contains(algorithm),
              header["crit"] == nil
        else { return .failure(.unsupportedAlgorithm) }
        var kid: String?
        if let value = header["kid"], value != .null {
            guard let text = value.stringValue else { return .failure(.malformed) }
            kid = text
        }
        guard let candidates = keys.candidates(kid: kid) else { return .failure(.unknownKey) }
        let signingInput = Array(token.utf8.prefix(parts[0].count + 1 + parts[1].count))[...]
        guard candidates.contains(where: { $0.isValid(signature, of: signingInput, algorithm: algorithm) }) else {
            return .failure(.badSignature)
        }
        return checkStandardClaims(claims, now: now).map { VerifiedClaims(claims: claims, payload: payload) }
    }

    private func checkStandardClaims(_ claims: JSONObject, now: Int64) -> Result<Void, TokenRefusal> {
        func seconds(_ claim: String) -> Result<Int64?, TokenRefusal> {
            guard let value = claims[claim], value != .null else { return .success(nil) }
            guard let number = value.doubleValue else { return .failure(.badClaims) }
            return .success(unixSeconds(number))
        }
        switch seconds("exp") {
        case .failure(let refusal): return .failure(refusal)
        case .success(let exp?) where now > exp + Self.leeway: return .failure(.expired)
        default: break
        }
        switch seconds("nbf") {
        case .failure(let refusal): return .failure(refusal)
        case .success(let nbf?) where now + Self.leeway < nbf: return .failure(.notYetValid)
        default: break
        }
        if !audience.isEmpty {
            let audiences: [String]
            switch claims["aud"] {
            case .string(let one): audiences = [one]
            case .array(let many): audiences = many.compactMap(\.stringValue)
            default: audiences = []
            }
            guard audiences.contains(audience) else { return .failure(.wrongAudience) }
        }
        if !issuer.isEmpty, claims["iss"]?.stringValue != issuer { return .failure(.wrongIssuer) }
        return .success(())
    }
}
