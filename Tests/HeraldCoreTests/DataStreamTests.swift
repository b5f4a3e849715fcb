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
