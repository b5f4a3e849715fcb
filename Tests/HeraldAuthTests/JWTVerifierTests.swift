import Crypto
import CryptoExtras
import Foundation
@testable import HeraldAuth
import HeraldCore
import XCTest

/// Tokens signed here with swift-crypto's private keys, checked by the verifier Herald runs.
final class JWTVerifierTests: XCTestCase {
    private let now: Int64 = 1_800_000_000

    private func token(header: String = #"{"alg":"HS256","typ":"JWT"}"#, claims: String,
                       sign: (ArraySlice<UInt8>) -> [UInt8]) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        return input + "." + Base64URL.encode(sign(Array(input.utf8)[...]))
    }

    private func hmac(_ secret: String) -> (ArraySlice<UInt8>) -> [UInt8] {
        { Array(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: Array(secret.utf8)))) }
    }

    private func verifier(_ configure: (inout HeraldConfig.Client.Token) -> Void) throws -> JWTVerifier {
        var config = HeraldConfig.Client.Token()
        configure(&config)
        return try JWTVerifier(config, at: "client.token")
    }

    private func refusal(_ result: Result<VerifiedClaims, TokenRefusal>) -> TokenRefusal? {
        if case .failure(let refusal) = result { return refusal }
        return nil
    }

    func testHMACTokenIsAcceptedWithItsClaimsAndRefusedWithAnotherSecret() throws {
        let verifier = try verifier { $0.hmacSecretKey = "secret" }
        let good = token(claims: #"{"sub":"42","info":{"name":"Ann"}}"#, sign: hmac("secret"))
        let claims = try verifier.verify(good, now: now).get()
        XCTAssertEqual(claims.claims["sub"]?.stringValue, "42")
        XCTAssertEqual(claims.raw("info").map { String(decoding: $0, as: UTF8.self) }, #"{"name":"Ann"}"#)
        let forged = token(claims: #"{"sub":"42"}"#, sign: hmac("guess"))
        XCTAssertEqual(refusal(verifier.verify(forged, now: now)), .badSignature)
    }

    func testHS384AndHS512() throws {
        let verifier = try verifier { $0.hmacSecretKey = "secret" }
        let key = SymmetricKey(data: Array("secret".utf8))
        let hs384 = token(header: #"{"alg":"HS384"}"#, claims: #"{"sub":"1"}"#) {
            Array(HMAC<SHA384>.authenticationCode(for: $0, using: key))
        }
        let hs512 = token(header: #"{"alg":"HS512"}"#, claims: #"{"sub":"1"}"#) {
            Array(HMAC<SHA512>.authenticationCode(for: $0, using: key))
        }
        XCTAssertNoThrow(try verifier.verify(hs384, now: now).get())
        XCTAssertNoThrow(try verifier.verify(hs512, now: now).get())
    }

    func testAlgNoneAndUnknownAlgorithmsAreRefused() throws {
        let verifier = try verifier { $0.hmacSecretKey = "secret" }
        let none = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + Base64URL.encode(Array(#"{"sub":"1"}"#.utf8)) + "."
        XCTAssertEqual(refusal(verifier.verify(none, now: now)), .unsupportedAlgorithm)
        let ps256 = token(header: #"{"alg":"PS256"}"#, claims: #"{"sub":"1"}"#, sign: hmac("secret"))
        XCTAssertEqual(refusal(verifier.verify(ps256, now: now)), .unsupportedAlgorithm)
        let crit = token(header: #"{"alg":"HS256","crit":["b64"]}"#, claims: #"{"sub":"1"}"#, sign: hmac("secret"))
        XCTAssertEqual(refusal(verifier.verify(crit, now: now)), .unsupportedAlgorithm)
    }

    func testRS256WithAPEMKeyAndNoAlgorithmConfusion() throws {
        let privateKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let pem = privateKey.publicKey.pemRepresentation
        let verifier = try verifier { $0.rsaPublicKey = pem }
        let rs256 = token(header: #"{"alg":"RS256"}"#, claims: #"{"sub":"7"}"#) {
            try! privateKey.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation.map { $0 }
        }
        XCTAssertEqual(try verifier.verify(rs256, now: now).get().claims["sub"]?.stringValue, "7")
        // The classic attack: HS256 "signed" with the public key's PEM as the secret.
        let confused = token(claims: #"{"sub":"7"}"#, sign: hmac(pem))
        XCTAssertEqual(refusal(verifier.verify(confused, now: now)), .badSignature)
    }

    func testES256AndES384() throws {
        let p256 = P256.Signing.PrivateKey()
        let es256 = token(header: #"{"alg":"ES256"}"#, claims: #"{"sub":"e"}"#) {
            Array(try! p256.signature(for: $0).rawRepresentation)
        }
        XCTAssertNoThrow(try verifier { $0.ecdsaPublicKey = p256.publicKey.pemRepresentation }.verify(es256, now: now).get())
        let p384 = P384.Signing.PrivateKey()
        let es384 = token(header: #"{"alg":"ES384"}"#, claims: #"{"sub":"e"}"#) {
            Array(try! p384.signature(for: $0).rawRepresentation)
        }
        XCTAssertNoThrow(try verifier { $0.ecdsaPublicKey = p384.publicKey.pemRepresentation }.verify(es384, now: now).get())
        let other = P256.Signing.PrivateKey()
        XCTAssertEqual(refusal(try verifier { $0.ecdsaPublicKey = other.publicKey.pemRepresentation }.verify(es256, now: now)),
                       .badSignature)
    }

    func testJWKSPicksTheKeyByKidAndRefusesAnUnknownKid() throws {
        let ec = P256.Signing.PrivateKey()
        let raw = ec.publicKey.rawRepresentation
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let primitives = try rsa.publicKey.getKeyPrimitives()
        let jwks = """
            {"keys":[{"kty":"EC","crv":"P-256","kid":"ec1","x":"\(Base64URL.encode(raw.prefix(32)))","y":"\(Base64URL.encode(raw.suffix(32)))"},
                     {"kty":"RSA","kid":"rsa1","n":"\(Base64URL.encode(primitives.modulus))","e":"\(Base64URL.encode(primitives.publicExponent))"},
                     {"kty":"oct","kid":"skipped","k":"AAAA"}]}
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID()).json").path
        try jwks.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let verifier = try verifier { $0.jwksFile = file }
        let byEC = token(header: #"{"alg":"ES256","kid":"ec1"}"#, claims: #"{"sub":"j"}"#) {
            Array(try! ec.signature(for: $0).rawRepresentation)
        }
        XCTAssertNoThrow(try verifier.verify(byEC, now: now).get())
        let byRSA = token(header: #"{"alg":"RS256","kid":"rsa1"}"#, claims: #"{"sub":"j"}"#) {
            try! rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation.map { $0 }
        }
        XCTAssertNoThrow(try verifier.verify(byRSA, now: now).get())
        let unknown = token(header: #"{"alg":"ES256","kid":"ec2"}"#, claims: #"{"sub":"j"}"#) {
            Array(try! ec.signature(for: $0).rawRepresentation)
        }
        XCTAssertEqual(refusal(verifier.verify(unknown, now: now)), .unknownKey)
        let noKid = token(header: #"{"alg":"ES256"}"#, claims: #"{"sub":"j"}"#) { Array(try! ec.signature(for: $0).rawRepresentation) }
        XCTAssertEqual(refusal(verifier.verify(noKid, now: now)), .unknownKey)
    }

    func testExpiryNotBeforeAudienceAndIssuer() throws {
        let verifier = try verifier {
            $0.hmacSecretKey = "secret"
            $0.audience = "herald"
            $0.issuer = "https://auth.example"
        }
        func check(_ claims: String) -> TokenRefusal? {
            refusal(verifier.verify(token(claims: claims, sign: hmac("secret")), now: now))
        }
        let good = #""aud":["x","herald"],"iss":"https://auth.example""#
        XCTAssertNil(check("{\(good),\"exp\":\(now + 10)}"))
        XCTAssertEqual(check("{\(good),\"exp\":\(now - 10)}"), .expired)
        XCTAssertEqual(check("{\(good),\"nbf\":\(now + 60)}"), .notYetValid)
        XCTAssertEqual(check(#"{"aud":"other","iss":"https://auth.example"}"#), .wrongAudience)
        XCTAssertEqual(check(#"{"aud":"herald","iss":"https://evil.example"}"#), .wrongIssuer)
        XCTAssertEqual(check("{\(good),\"exp\":\"soon\"}"), .badClaims)
        XCTAssertNil(check("{\(good),\"exp\":1e300}"), "a huge exp is far future, not a trap")
    }

    func testMalformedTokensAreRefused() throws {
        let verifier = try verifier { $0.hmacSecretKey = "secret" }
        let valid = token(claims: #"{"sub":"1"}"#, sign: hmac("secret"))
        for bad in ["", "a.b", "a.b.c.d", valid + "x=", "!!.!!.!!", valid.replacingOccurrences(of: ".", with: "..")] {
            XCTAssertNotNil(refusal(verifier.verify(bad, now: now)), bad)
        }
        let notObject = token(claims: "[1]", sign: hmac("secret"))
        XCTAssertEqual(refusal(verifier.verify(notObject, now: now)), .malformed)
    }

    func testBadKeysAreConfigErrorsNamingTheKey() {
        XCTAssertThrowsError(try verifier { $0.rsaPublicKey = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }) {
            XCTAssertEqual(($0 as? ConfigError)?.path, "client.token.rsa_public_key")
        }
        XCTAssertThrowsError(try verifier { $0.ecdsaPublicKey = "/nonexistent.pem" }) {
            XCTAssertEqual(($0 as? ConfigError)?.path, "client.token.ecdsa_public_key")
        }
        XCTAssertThrowsError(try verifier { $0.jwksFile = "/nonexistent.json" }) {
            XCTAssertEqual(($0 as? ConfigError)?.path, "client.token.jwks_file")
        }
        var config = HeraldConfig()
        config.client.subscriptionToken.enabled = true
        XCTAssertThrowsError(try TokenAuthority(config: config)) {
            XCTAssertEqual(($0 as? ConfigError)?.path, "client.subscription_token")
        }
    }

    func testBase64URLIsStrict() {
        XCTAssertEqual(Base64URL.decode("aGVsbG8"[...].utf8), Array("hello".utf8))
        XCTAssertNil(Base64URL.decode("aGVsbG9"[...].utf8), "non-zero trailing bits")
        XCTAssertNil(Base64URL.decode("aGVsbG8="[...].utf8), "padding")
        XCTAssertNil(Base64URL.decode("a+/b"[...].utf8), "standard alphabet")
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            XCTAssertEqual(Base64URL.decode(Substring(Base64URL.encode(bytes)).utf8), bytes)
        }
    }
}
