import XCTest
@testable import HeraldCore

final class APIAuthorizationTests: XCTestCase {
    func testKeyInEitherHeader() {
        let auth = APIAuthorization(key: "secret", insecure: false)
        XCTAssertTrue(auth.allows(apiKeyHeader: "secret", authorizationHeader: nil, peerIsLoopback: false))
        XCTAssertTrue(auth.allows(apiKeyHeader: nil, authorizationHeader: "apikey secret", peerIsLoopback: false))
        XCTAssertFalse(auth.allows(apiKeyHeader: "secreT", authorizationHeader: nil, peerIsLoopback: true))
        XCTAssertFalse(auth.allows(apiKeyHeader: "secret2", authorizationHeader: nil, peerIsLoopback: true))
        XCTAssertFalse(auth.allows(apiKeyHeader: nil, authorizationHeader: "Bearer secret", peerIsLoopback: true))
        XCTAssertFalse(auth.allows(apiKeyHeader: nil, authorizationHeader: nil, peerIsLoopback: true))
    }

    func testNoKeyMeansLoopbackOnlyEvenWhenInsecure() {
        let development = APIAuthorization(key: "", insecure: true)
        XCTAssertTrue(development.allows(apiKeyHeader: nil, authorizationHeader: nil, peerIsLoopback: true))
        XCTAssertFalse(development.allows(apiKeyHeader: nil, authorizationHeader: nil, peerIsLoopback: false))
        let locked = APIAuthorization(key: "", insecure: false)
        XCTAssertFalse(locked.allows(apiKeyHeader: "", authorizationHeader: nil, peerIsLoopback: true))
    }

    func testAdminTokenOpensTheAPIFromAnywhere() {
        let auth = APIAuthorization(key: "secret", insecure: false, adminTokens: ClaimsAsToken())
        XCTAssertTrue(auth.allows(apiKeyHeader: nil, authorizationHeader: #"token {"admin":true}"#, peerIsLoopback: false))
        XCTAssertTrue(auth.allows(apiKeyHeader: nil, authorizationHeader: #"Token {"admin":true}"#, peerIsLoopback: false))
        for refused in [#"token {"admin":false}"#, #"token {"sub":"admin"}"#, "token forged", #"{"admin":true}"#] {
            XCTAssertFalse(auth.allows(apiKeyHeader: nil, authorizationHeader: refused, peerIsLoopback: true), refused)
        }
        // The key still works beside it; with the console off no token is an admin's.
        XCTAssertTrue(auth.allows(apiKeyHeader: "secret", authorizationHeader: "token forged", peerIsLoopback: false))
        let off = APIAuthorization(key: "secret", insecure: false)
        XCTAssertFalse(off.allows(apiKeyHeader: nil, authorizationHeader: #"token {"admin":true}"#, peerIsLoopback: true))
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(APIAuthorization.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        XCTAssertFalse(APIAuthorization.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        XCTAssertFalse(APIAuthorization.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        XCTAssertFalse(APIAuthorization.constantTimeEqual(Array("abc\0".utf8), Array("abc".utf8)))
    }
}
