import XCTest
@testable import HeraldCore

/// The session state machine driven directly, with the transport replaced by a recorder of what it would
/// send. End-to-end behaviour over real sockets is in Tests/e2e.
final class ClientSessionTests: XCTestCase {
    final class Recorder: SessionOutput {
        var lines: [String] = []
        var closedWith: Disconnect?
        func send(_ frame: Frame) {
            let payload = frame.bytes.dropFirst(frame.bytes[1] < 126 ? 2 : 4)
            lines += String(decoding: payload, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        func close(_ disconnect: Disconnect) { closedWith = disconnect }
    }

    private func makeLoop(_ configure: (inout HeraldConfig) -> Void = { _ in }) -> LoopContext {
        var config = HeraldConfig.secureDefaults
        config.client.allowAnonymousConnectWithoutToken = true
        config.channel.withoutNamespace.allowSubscribeForClient = true
        config.channel.withoutNamespace.allowSubscribeForAnonymous = true
        configure(&config)
        let node = Node(config: config, version: "test", name: "test", wakers: [{}])
        return node.makeLoopContexts()[0]
    }

    private func send(_ session: ClientSession, _ text: String, now: Milliseconds = 0) {
        session.receive(Array(text.utf8), now: now)
    }

    func testCommandsBeforeConnectCloseWithBadRequest() {
        let loop = makeLoop()
        let output = Recorder()
        let session = loop.openSession(output: output, now: 0)
        send(session, #"{"id":1,"subscribe":{"channel":"a"}}"#)
        XCTAssertEqual(output.closedWith, .badRequest)
        XCTAssertTrue(output.lines.isEmpty)
    }

    func testSeveralCommandsInOneMessageAnswerInOrder() {
        let loop = makeLoop()
        let output = Recorder()
        let session = loop.openSession(output: output, now: 0)
        send(session, "{\"id\":1,\"connect\":{}}\n{\"id\":2,\"subscribe\":{\"channel\":\"a\"}}\n{\"id\":3,\"subscribe\":{\"channel\":\"a\"}}")
        XCTAssertEqual(output.lines.count, 3)
        XCTAssertTrue(output.lines[0].hasPrefix(#"{"id":1,"connect":{"client":""#))
        XCTAssertEqual(output.lines[1], #"{"id":2,"subscribe":{}}"#)
        XCTAssertEqual(output.lines[2], #"{"id":3,"error":{"code":105,"message":"already subscribed"}}"#)
        XCTAssertNil(output.closedWith)
    }

    func testPublicationReachesSubscribersThroughTheInbox() throws {
        let loop = makeLoop()
        let subscriber = Recorder()
        let session = loop.openSession(output: subscriber, now: 0)
        send(session, "{\"id\":1,\"connect\":{}}\n{\"id\":2,\"subscribe\":{\"channel\":\"a\"}}")
        try loop.node.publish(channel: "a", data: Array(#"{"n":1}"#.utf8))
        try loop.node.publish(channel: "other", data: Array("2".utf8))
        loop.drainInbox()
        XCTAssertEqual(subscriber.lines.last, #"{"push":{"channel":"a","pub":{"data":{"n":1}}}}"#)
        XCTAssertEqual(subscriber.lines.count, 3)
    }

    func testAdminConnectionSubscribesAnywhereButPublishesOnlyWherePermitted() {
        var config = HeraldConfig.secureDefaults
        config.channel.namespaces = [Namespace(name: "locked", options: NamespaceOptions())]
        let tokens = TokenAuthority(connection: nil, subscription: nil, admin: ClaimsAsToken())
        let loop = Node(config: config, version: "test", name: "test", wakers: [{}], tokens: tokens).makeLoopContexts()[0]
        let admin = Recorder()
        let session = loop.openSession(output: admin, now: 0)
        send(session, #"{"id":1,"connect":{"token":"{\"admin\":true}"}}"#)
        send(session, #"{"id":2,"subscribe":{"channel":"locked:x"}}"#)
        send(session, #"{"id":3,"subscribe":{"channel":"$private"}}"#)
        send(session, #"{"id":4,"publish":{"channel":"locked:x","data":1}}"#)
        XCTAssertTrue(admin.lines[0].hasPrefix(#"{"id":1,"connect":{"client":""#), admin.lines[0])
        XCTAssertEqual(Array(admin.lines.dropFirst()), [
            #"{"id":2,"subscribe":{}}"#,
            #"{"id":3,"subscribe":{}}"#,
            #"{"id":4,"error":{"code":103,"message":"permission denied"}}"#,
        ])
        XCTAssertEqual(session.user, "")
        // The same claims without `admin: true` are no admin's, and no connection token either.
        let other = Recorder()
        send(loop.openSession(output: other, now: 0), #"{"id":1,"connect":{"token":"{\"admin\":false}"}}"#)
        XCTAssertEqual(other.closedWith, .invalidToken)
    }

    func testUnknownNamespaceAndPermissions() {
        let loop = makeLoop { $0.channel.namespaces = [Namespace(name: "locked", options: NamespaceOptions())] }
        let output = Recorder()
        let session = loop.openSession(output: output, now: 0)
        send(session, "{\"id\":1,\"connect\":{}}")
        send(session, #"{"id":2,"subscribe":{"channel":"nope:x"}}"#)
        send(session, #"{"id":3,"subscribe":{"channel":"locked:x"}}"#)
        send(session, #"{"id":4,"publish":{"channel":"a","data":1}}"#)
        send(session, #"{"id":5,"presence":{"channel":"a"}}"#)
        send(session, #"{"id":6,"teleport":{}}"#)
        XCTAssertEqual(Array(output.lines.dropFirst()), [
            #"{"id":2,"error":{"code":102,"message":"unknown channel"}}"#,
            #"{"id":3,"error":{"code":103,"message":"permission denied"}}"#,
            #"{"id":4,"error":{"code":103,"message":"permission denied"}}"#,
            #"{"id":5,"error":{"code":108,"message":"not available"}}"#,
            #"{"id":6,"error":{"code":104,"message":"method not found"}}"#,
        ])
    }

    func testChannelLimit() {
        let loop = makeLoop { $0.client.channelLimit = 1 }
        let output = Recorder()
        let session = loop.openSession(output: output, now: 0)
        send(session, "{\"id\":1,\"connect\":{}}\n{\"id\":2,\"subscribe\":{\"channel\":\"a\"}}\n{\"id\":3,\"subscribe\":{\"channel\":\"b\"}}")
        XCTAssertEqual(output.lines.last, #"{"id":3,"error":{"code":106,"message":"limit exceeded"}}"#)
    }

    func testPingThenNoPongDisconnects() {
        let loop = makeLoop {
            $0.client.pingInterval = .seconds(1)
            $0.client.pongTimeout = .seconds(1)
        }
        let output = Recorder()
        let session = loop.openSession(output: output, now: 0)
        send(session, "{\"id\":1,\"connect\":{}}", now: 0)
        loop.tick(now: 999)
        XCTAssertEqual(output.lines.count, 1, "no ping before the interval")
        loop.tick(now: 1000)
        XCTAssertEqual(output.lines.last, "{}")
        send(session, "{}", now: 1500)
        loop.tick(now: 2100)
        XCTAssertNil(output.closedWith, "a pong keeps the connection")
        XCTAssertEqual(output.lines.last, "{}")
        loop.tick(now: 3100)
        XCTAssertEqual(output.closedWith, .noPong)
    }

    func testConnectTimeout() {
        let loop = makeLoop()
        let output = Recorder()
        _ = loop.openSession(output: output, now: 0)
        loop.tick(now: 9_999)
        XCTAssertNil(output.closedWith)
        loop.tick(now: 10_000)
        XCTAssertEqual(output.closedWith, .stale)
    }

    func testClosedSessionLeavesItsChannels() {
        let loop = makeLoop()
        let output = Recorder()
        let session = loop.openSession(output: output, now: 0)
        send(session, "{\"id\":1,\"connect\":{}}\n{\"id\":2,\"subscribe\":{\"channel\":\"a\"}}")
        XCTAssertEqual(loop.node.channelCounts(), ["a": 1])
        session.closed()
        XCTAssertEqual(loop.node.channelCounts(), [:])
        XCTAssertEqual(loop.sessionCount, 0)
        XCTAssertEqual(loop.node.info().numClients, 0)
    }
}

final class PublicationFramingTests: XCTestCase {
    /// A pretty-printed payload must stay on one line of the push, or SDKs splitting on newlines break.
    func testLineBreaksInDataBecomeSpaces() throws {
        let node = Node(config: .development, version: "test", name: "test", wakers: [{}])
        let loop = node.makeLoopContexts()[0]
        final class Recorder: SessionOutput {
            var payloads: [String] = []
            func send(_ frame: Frame) { payloads.append(String(decoding: frame.bytes.dropFirst(2), as: UTF8.self)) }
            func close(_ disconnect: Disconnect) {}
        }
        let output = Recorder()
        let session = loop.openSession(output: output, now: 0)
        session.receive(Array("{\"id\":1,\"connect\":{}}\n{\"id\":2,\"subscribe\":{\"channel\":\"a\"}}".utf8), now: 0)
        try node.publish(channel: "a", data: Array("{\r\n  \"text\": \"a b\"\n}".utf8))
        loop.drainInbox()
        XCTAssertEqual(output.payloads.last, #"{"push":{"channel":"a","pub":{"data":{    "text": "a b" }}}}"#)
    }
}
