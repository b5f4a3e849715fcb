import Crypto
import CryptoExtras
import Foundation
import HeraldCore

/// The keys of one `client.token` (or `client.subscription_token`) section, read and checked at start:
/// a bad PEM or JWKS file stops Herald with the key's name rather than refusing every token later.
struct TokenKeys: Sendable {
    /// Keys used whatever the token's `kid`: the secret and the PEM public keys.
    var fixed: [VerificationKey] = []
    /// JWKS keys by `kid`.
    var byID: [String: VerificationKey] = [:]

    init(_ config: HeraldConfig.Client.Token, at section: String) throws(ConfigError) {
        if !config.hmacSecretKey.isEmpty {
            fixed.append(.hmac(SymmetricKey(data: Array(config.hmacSecretKey.utf8))))
        }
        if !config.rsaPublicKey.isEmpty {
            let path = section + ".rsa_public_key"
            let pem = try Self.pem(config.rsaPublicKey, at: path)
            do {
                fixed.append(.rsa(try _RSA.Signing.PublicKey(pemRepresentation: pem)))
            } catch {
                throw ConfigError(path, "not a PEM RSA public key of 2048 bits or more")
            }
        }
        if !config.ecdsaPublicKey.isEmpty {
            let path = section + ".ecdsa_public_key"
            let pem = try Self.pem(config.ecdsaPublicKey, at: path)
            if let key = try? P256.Signing.PublicKey(pemRepresentation: pem) {
                fixed.append(.p256(key))
            } else if let key = try? P384.Signing.PublicKey(pemRepresentation: pem) {
                fixed.append(.p384(key))
            } else {
                throw ConfigError(path, "not a PEM ECDSA public key on P-256 or P-384")
            }
        }
        if !config.jwksFile.isEmpty {
            let path = section + ".jwks_file"
            byID = try JWKS.keys(try Self.read(config.jwksFile, at: path), at: path)
        }
    }

    /// The key for a token's `kid`: the JWKS key it names; without a `kid`, the fixed keys.
    func candidates(kid: String?) -> [VerificationKey]? {
        if let kid, !byID.isEmpty { return byID[kid].map { [$0] } }
        return fixed.isEmpty ? nil : fixed
    }

    /// A PEM given inline, or the path of a file holding it.
    private static func pem(_ value: String, at path: String) throws(ConfigError) -> String {
        value.hasPrefix("-----BEGIN") ? value : try read(value, at: path)
    }

    private static func read(_ file: String, at path: String) throws(ConfigError) -> String {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ConfigError(path, "cannot read \(file)")
        }
        return text
    }
}
