import XCTest
@testable import HeraldCore

final class OriginPolicyTests: XCTestCase {
    func testWithNoListOnlyTheSameOriginIsAllowed() {
        let policy = OriginPolicy(allowedOrigins: [])
        XCTAssertTrue(policy.allows(origin: "http://chat.example.com", host: "chat.example.com"))
        XCTAssertTrue(policy.allows(origin: "https://Chat.Example.com:8443", host: "chat.example.com:8443"))
        XCTAssertFalse(policy.allows(origin: "https://evil.example", host: "chat.example.com"))
        XCTAssertFalse(policy.allows(origin: "http://chat.example.com:8000", host: "chat.example.com"), "another port")
        XCTAssertFalse(policy.allows(origin: "https://chat.example.com", host: nil))
        XCTAssertFalse(policy.allows(origin: "null", host: "chat.example.com"), "a sandboxed page or a file")
    }

    func testPatternsMatchWholeOriginsCaseInsensitively() {
        let policy = OriginPolicy(allowedOrigins: ["https://example.com", "https://*.Example.org"])
        XCTAssertTrue(policy.allows(origin: "https://example.com", host: "herald.internal"))
        XCTAssertTrue(policy.allows(origin: "https://app.example.org", host: "herald.internal"))
        XCTAssertTrue(policy.allows(origin: "HTTPS://A.B.EXAMPLE.ORG", host: "herald.internal"))
        XCTAssertFalse(policy.allows(origin: "http://example.com", host: "herald.internal"), "another scheme")
        XCTAssertFalse(policy.allows(origin: "https://example.com.evil.net", host: "herald.internal"))
        XCTAssertFalse(policy.allows(origin: "https://example.org.evil.net", host: "herald.internal"))
        XCTAssertFalse(policy.allows(origin: "https://herald.internal", host: "herald.internal"),
                       "with a list, the same origin must be listed too")
    }

    func testStarAllowsAnyAndNoOriginIsNotABrowserPage() {
        XCTAssertTrue(OriginPolicy(allowedOrigins: ["*"]).allows(origin: "https://anywhere.example", host: "h"))
        XCTAssertTrue(OriginPolicy(allowedOrigins: []).allows(origin: nil, host: "h"))
        XCTAssertTrue(OriginPolicy(allowedOrigins: ["https://example.com"]).allows(origin: "", host: nil))
    }

    func testDevelopmentModeAllowsEveryOrigin() {
        XCTAssertEqual(HeraldConfig.development.client.allowedOrigins, ["*"])
        XCTAssertEqual(HeraldConfig.secureDefaults.client.allowedOrigins, [])
    }
}
