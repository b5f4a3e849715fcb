import Crypto
import CryptoExtras
import HeraldCore

/// A JSON Web Key Set (RFC 7517): the signing keys an identity provider publishes, each named by `kid`.
/// RSA keys (`n`, `e`) and EC keys on P-256 / P-384 (`x`, `y`) are read; others (`oct`, encryption keys)
/// are skipped, and a set that yields no key is an error.
enum JWKS {
    static func keys(_ text: String, at path: String) throws(ConfigError) -> [String: VerificationKey] {
        guard let set = try? JSONParser.parse(Array(text.utf8)).objectValue,
              let entries = set["keys"]?.arrayValue else {
            throw ConfigError(path, "not a JWKS document ({\"keys\": [...]})")
        }
        var keys: [String: VerificationKey] = [:]
        for (index, entry) in entries.enumerated() {
            guard let jwk = entry.objectValue, jwk["use"]?.stringValue ?? "sig" == "sig" else { continue }
            guard let kid = jwk["kid"]?.stringValue, !kid.isEmpty else {
                throw ConfigError(path, "key \(index) has no kid")
            }
            func field(_ name: String) throws(ConfigError) -> [UInt8] {
                guard let text = jwk[name]?.stringValue, let bytes = Base64URL.decode(Substring(text).utf8) else {
                    throw ConfigError(path, "key \"\(kid)\": \(name) missing or not base64url")
                }
                return bytes
            }
            do {
                switch (jwk["kty"]?.stringValue, jwk["crv"]?.stringValue) {
                case ("RSA", _):
                    keys[kid] = .rsa(try _RSA.Signing.PublicKey(n: try field("n"), e: try field("e")))
                case ("EC", "P-256"):
                    keys[kid] = .p256(try P256.Signing.PublicKey(rawRepresentation: try field("x") + field("y")))
                case ("EC", "P-384"):
                    keys[kid] = .p384(try P384.Signing.PublicKey(rawRepresentation: try field("x") + field("y")))
                default:
                    continue
                }
            } catch let error as ConfigError {
                throw error
            } catch {
                throw ConfigError(path, "key \"\(kid)\" is not a valid public key")
            }
        }
        guard !keys.isEmpty else { throw ConfigError(path, "no RSA or EC signing key in the set") }
        return keys
    }
}
