import XCTest
@testable import HeraldCore

/// The parts of SSE and raw WebSocket streams that need no socket: positions in event ids and query strings.
final class DataStreamTests: XCTestCase {
    func testAnIDListsEachChannelsPositionInOrderAndParsesBack() throws {
        let positions: [StreamPosition?] = [StreamPosition(offset: 17, epoch: "aBcD1234"), nil,
                                            StreamPosition(offset: 2, epoch: "zz")]
        let line = String(decoding: EventStreamID.line(positions), as: UTF8.self)
        XCTAssertEqual(line, "id: 17:aBcD1234,,2:zz\n")
        let text = String(line.dropFirst(4).dropLast())
        XCTAssertEqual(try EventStreamID.parse(text, channelCount: 3), positions)
    }

    func testABareOffsetLeavesTheEpochUnchecked() throws {
        XCTAssertEqual(try EventStreamID.parse("5", channelCount: 1), [StreamPosition(offset: 5, epoch: "")])
        XCTAssertEqual(try EventStreamID.parse(",", channelCount: 2), [nil, nil])
    }

    func testMalformedPositionsAreRefusedWith400() {
        for (text, count) in [("x", 1), ("1:a-b", 1), ("-1", 1), ("1,2", 1), ("1", 2), ("1:ab:c", 1),
                              ("99999999999999999999", 1)] {
            XCTAssertThrowsError(try EventStreamID.parse(text, channelCount: count), text) { error in
                XCTAssertEqual((error as? HTTPError)?.status, 400, text)
            }
        }
    }

    func testQueryParametersAreDecodedInOrder() {
        let parameters = QueryString.parameters(Array("channel=a&channel=chat%23alice%2Cbob&since=1%3Aab&x&token=a+b%zz".utf8))
        XCTAssertEqual(parameters.map(\.name), ["channel", "channel", "since", "x", "token"])
        XCTAssertEqual(parameters.map(\.value), ["a", "chat#alice,bob", "1:ab", "", "a b%zz"])
    }

    func testTheParserKeepsTheQueryApartFromThePath() throws {
        var parser = HTTPRequestParser(bodyLimit: 100)
        Array("GET /connection/sse?channel=a%3Ab&since=3 HTTP/1.1\r\n\r\n".utf8).withUnsafeBytes { parser.append($0) }
        let request = try XCTUnwrap(parser.nextRequest())
        XCTAssertEqual(request.path, "/connection/sse")
        XCTAssertEqual(request.query.map(\.value), ["a:b", "3"])
    }
}

/// Data subscribers driven on a loop directly, the transport replaced by a recorder of the bytes it would send.
final class DataSubscriberTests: XCTestCase {
    final class Recorder: SessionOutput {
        var sent: [[UInt8]] = []
        var closedWith: Disconnect?
        func send(_ frame: Frame) { sent.append(frame.bytes) }
        func close(_ disconnect: Disconnect) { closedWith = disconnect }
        var text: String { String(decoding: sent.joined(), as: UTF8.self) }
    }

    private func makeLoop() -> LoopContext {
        var config = HeraldConfig.development
        var history = NamespaceOptions()
        history.historySize = 10
        history.historyTTL = .seconds(60)
        history.forceRecovery = true
        config.channel.namespaces = [Namespace(name: "hist", options: history)]
        return Node(config: config, version: "test", name: "test", wakers: [{}]).makeLoopContexts()[0]
    }

    private func open(_ loop: LoopContext, _ path: String, _ query: [(name: String, value: String)],
                      output: Recorder) throws -> DataSubscriber {
        let request = try DataStreamRequest(path: path, query: query, lastEventID: nil, authorization: nil, node: loop.node)
        return try loop.openDataStream(request, output: output, origin: nil, now: 0)
    }

    func testASilentStreamGetsAHeartbeatAfter25SecondsAndABusyOneDoesNot() throws {
        let loop = makeLoop()
        let events = Recorder()
        let raw = Recorder()
        let busy = Recorder()
        _ = try open(loop, "/connection/sse", [("channel", "quiet")], output: events)
        _ = try open(loop, "/ws/quiet", [], output: raw)
        _ = try open(loop, "/ws/busy", [], output: busy)
        let head = events.sent.count
        for now: Milliseconds in stride(from: 200, through: 24_800, by: 200) {
            try loop.node.publish(channel: "busy", data: Array("1".utf8))
            loop.drainInbox()
            loop.tick(now: now)
        }
        XCTAssertEqual(events.sent.count, head, "nothing before 25 s of silence")
        XCTAssertTrue(raw.sent.isEmpty)
        loop.tick(now: 25_000)
        XCTAssertEqual(raw.sent, [[0x89, 0x00]], "an empty WebSocket ping after 25 s")
        XCTAssertEqual(events.sent.count, head, "the SSE head went out at the first tick's turn (200 ms)")
        loop.tick(now: 25_200)
        XCTAssertEqual(events.sent.last, Array(":\n\n".utf8), "an SSE comment")
        XCTAssertFalse(busy.sent.contains([0x89, 0x00]), "a stream that sends needs no heartbeat")
        loop.tick(now: 49_800)
        XCTAssertEqual(raw.sent.count, 1)
        loop.tick(now: 50_000)
        XCTAssertEqual(raw.sent.count, 2, "the next one 25 s later")
    }

    func testARoundOfPublicationsReachesAStreamAsOneWriteWithTheLastPosition() throws {
        let loop = makeLoop()
        let events = Recorder()
        let raw = Recorder()
        _ = try open(loop, "/connection/sse", [("channel", "hist:a")], output: events)
        _ = try open(loop, "/ws/hist:a", [], output: raw)
        loop.drainInbox()  // the joins
        let (before, rawBefore) = (events.sent.count, raw.sent.count)
        for n in 1...3 { _ = try loop.node.publish(channel: "hist:a", data: Array("\(n)".utf8)) }
        loop.drainInbox()
        XCTAssertEqual(events.sent.count, before + 1)
        XCTAssertEqual(raw.sent.count, rawBefore + 1)
        let epoch = loop.node.history.entry("hist:a").stream.withLock { $0.epoch }
        XCTAssertEqual(String(decoding: events.sent.last!, as: UTF8.self),
                       (1...3).map { "id: \($0):\(epoch)\ndata: \($0)\n\n" }.joined())
        XCTAssertEqual(raw.sent.last!, [0x81, 1, UInt8(ascii: "1"), 0x81, 1, UInt8(ascii: "2"), 0x81, 1, UInt8(ascii: "3")])
    }
}
