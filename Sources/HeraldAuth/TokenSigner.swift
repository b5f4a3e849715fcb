import Crypto
import HeraldCore

/// Signs HS256 tokens, for `herald token` (local testing, as `centrifugo gentoken`): production tokens come
/// from the application's backend.
public enum TokenSigner {
    public static func hs256(claims: [UInt8], secret: String) -> String {
        let signingInput = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "." + Base64URL.encode(claims)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return signingInput + "." + Base64URL.encode(Array(mac))
    }
}
