import XCTest
@testable import HeraldCore

final class ClientCommandTests: XCTestCase {
    private func decode(_ text: String) throws -> ClientCommand {
        try ClientCommand.decode(ArraySlice(text.utf8))
    }

    func testConnectWithFields() throws {
        let command = try decode(#"{"id":1,"connect":{"token":"t","name":"js","version":"5","data":{"x":1}}}"#)
        XCTAssertEqual(command.id, 1)
        XCTAssertEqual(command.method, .connect(.init(token: "t", name: "js", version: "5")))
    }

    func testEmptyConnectParamsAreAllowed() throws {
        XCTAssertEqual(try decode(#"{"id":3,"connect":{}}"#).method, .connect(.init(token: "", name: "", version: "")))
    }

    func testSubscribeReadsJoinLeave() throws {
        let command = try decode(#"{"id":2,"subscribe":{"channel":"chat:1","join_leave":true}}"#)
        XCTAssertEqual(command.method, .subscribe(.init(channel: "chat:1", token: "", joinLeave: true)))
    }

    func testPublishKeepsTheExactDataBytes() throws {
        let command = try decode(#"{"id":4,"publish":{"channel":"a","data":{"b": [1, 2.50, "x"]}}}"#)
        XCTAssertEqual(command.method, .publish(channel: "a", data: Array(#"{"b": [1, 2.50, "x"]}"#.utf8)))
    }

    func testEmptyObjectIsPong() throws {
        XCTAssertEqual(try decode("{}").method, .pong)
    }

    func testUnknownMethodWithID() throws {
        XCTAssertEqual(try decode(#"{"id":5,"teleport":{}}"#).method, .unknown)
    }

    func testUnknownFieldsAreIgnored() throws {
        let command = try decode(#"{"id":6,"presence":{"channel":"x","future":1},"extra":true}"#)
        XCTAssertEqual(command.method, .presence(channel: "x"))
    }

    func testMalformedInputsAreRefused() {
        let inputs = [
            "", "nope", "[]", #"{"id":"1","connect":{}}"#, #"{"id":-1,"connect":{}}"#, #"{"id":4294967296}"#,
            #"{"id":1,"subscribe":{}}"#, #"{"id":1,"subscribe":{"channel":5}}"#, #"{"id":1,"subscribe":[]}"#,
            #"{"id":1,"publish":{"channel":"a"}}"#, #"{"id":1,"connect":{"token":1}}"#,
            #"{"id":1,"subscribe":{"channel":"a","join_leave":"yes"}}"#, #"{"id":1,"connect":{}"#,
        ]
        for input in inputs {
            XCTAssertThrowsError(try decode(input), "accepted \(input)")
        }
    }
}
