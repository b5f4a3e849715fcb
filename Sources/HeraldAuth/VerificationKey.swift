import Crypto
import CryptoExtras

/// One key a token's signature can be checked with, and the JWT algorithms it serves. A key checks only
/// its own family, so an HMAC token can never be checked against an RSA public key read as a secret.
enum VerificationKey: Sendable {
    case hmac(SymmetricKey)
    case rsa(_RSA.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)

    /// Whether `signature` signs `input` under `algorithm`; false for an algorithm of another family.
    func isValid(_ signature: [UInt8], of input: ArraySlice<UInt8>, algorithm: String) -> Bool {
        switch (self, algorithm) {
        case (.hmac(let key), "HS256"): HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: key)
        case (.hmac(let key), "HS384"): HMAC<SHA384>.isValidAuthenticationCode(signature, authenticating: input, using: key)
        case (.hmac(let key), "HS512"): HMAC<SHA512>.isValidAuthenticationCode(signature, authenticating: input, using: key)
        case (.rsa(let key), "RS256"): Self.rsa(key, signature, SHA256.hash(data: input))
        case (.rsa(let key), "RS384"): Self.rsa(key, signature, SHA384.hash(data: input))
        case (.rsa(let key), "RS512"): Self.rsa(key, signature, SHA512.hash(data: input))
        case (.p256(let key), "ES256"):
            // JWS carries ECDSA signatures as r‖s (RFC 7518 §3.4), not DER.
            (try? P256.Signing.ECDSASignature(rawRepresentation: signature))
                .map { key.isValidSignature($0, for: SHA256.hash(data: input)) } ?? false
        case (.p384(let key), "ES384"):
            (try? P384.Signing.ECDSASignature(rawRepresentation: signature))
                .map { key.isValidSignature($0, for: SHA384.hash(data: input)) } ?? false
        default: false
        }
    }

    /// The algorithms Herald accepts; anything else (`none` first of all) is refused before any key is tried.
    static let algorithms: Set<String> = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384"]

    private static func rsa(_ key: _RSA.Signing.PublicKey, _ signature: [UInt8], _ digest: some Digest) -> Bool {
        key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest,
                             padding: .insecurePKCS1v1_5)  // RS* is PKCS#1 v1.5 by definition (RFC 7518 §3.3)
    }
}
