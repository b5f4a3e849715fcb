import XCTest
@testable import HeraldCore

final class ChannelTests: XCTestCase {
    func testNamespaceAndUserLimitedParts() throws {
        let name = try ChannelName("chat:room#42,43", maxLength: 255)
        XCTAssertEqual(name.namespace, "chat")
        XCTAssertTrue(name.isUserLimited)
        XCTAssertEqual(name.allowedUsers, ["42", "43"])
        XCTAssertEqual(try ChannelName("news", maxLength: 255).namespace, "")
        let secret = try ChannelName("$chat:room", maxLength: 255, privatePrefix: "$")
        XCTAssertTrue(secret.isPrivate)
        XCTAssertEqual(secret.namespace, "chat", "the namespace is read after the private prefix")
        XCTAssertFalse(try ChannelName("$chat:room", maxLength: 255, privatePrefix: "").isPrivate)
    }

    func testInvalidNames() {
        XCTAssertThrowsError(try ChannelName("", maxLength: 255)) { XCTAssertEqual($0 as? ChannelName.Invalid, .empty) }
        XCTAssertThrowsError(try ChannelName("a b", maxLength: 255)) {
            XCTAssertEqual($0 as? ChannelName.Invalid, .forbiddenCharacter)
        }
        XCTAssertThrowsError(try ChannelName("a\u{7F}", maxLength: 255))
        XCTAssertThrowsError(try ChannelName(String(repeating: "x", count: 11), maxLength: 10)) {
            XCTAssertEqual($0 as? ChannelName.Invalid, .tooLong)
        }
        XCTAssertNoThrow(try ChannelName("ünïcode:ok", maxLength: 255))
    }

    func testGlobPattern() {
        XCTAssertTrue(GlobPattern("*").matches("anything"))
        XCTAssertTrue(GlobPattern("news:*").matches("news:sport"))
        XCTAssertFalse(GlobPattern("news:*").matches("chat:news"))
        XCTAssertTrue(GlobPattern("*:room*").matches("chat:room42"))
        XCTAssertTrue(GlobPattern("exact").matches("exact"))
        XCTAssertFalse(GlobPattern("exact").matches("exactly"))
        XCTAssertTrue(GlobPattern("a*b*c").matches("aXbYc"))
        XCTAssertFalse(GlobPattern("a*b*c").matches("aXcYb"))
    }
}
