import XCTest
@testable import HeraldCore

final class HTTPRequestParserTests: XCTestCase {
    private func feed(_ parser: inout HTTPRequestParser, _ text: String) {
        Array(text.utf8).withUnsafeBytes { parser.append($0) }
    }

    private func post(_ body: String) -> String {
        "POST /api/publish HTTP/1.1\r\nX-API-Key: k\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    func testPipelinedRequestsComeOutInOrderWithTheirBodies() throws {
        var parser = HTTPRequestParser(bodyLimit: 1000)
        feed(&parser, post("{\"n\":1}") + post("{\"n\":2}") + "GET /health?x=1 HTTP/1.1\r\n\r\n")
        let first = try XCTUnwrap(parser.nextRequest())
        XCTAssertEqual(first.method, "POST")
        XCTAssertEqual(first.path, "/api/publish")
        XCTAssertEqual(first.header("x-api-key"), "k")
        XCTAssertEqual(first.body, Array("{\"n\":1}".utf8))
        XCTAssertEqual(try parser.nextRequest()?.body, Array("{\"n\":2}".utf8))
        let third = try XCTUnwrap(parser.nextRequest())
        XCTAssertEqual(third.path, "/health", "the query string is not part of the path")
        XCTAssertEqual(third.body, [])
        XCTAssertNil(try parser.nextRequest())
    }

    func testARequestSplitAtEveryByteIsParsedOnceComplete() throws {
        var parser = HTTPRequestParser(bodyLimit: 1000)
        let text = post("{\"data\":\"split\"}")
        for (index, character) in text.enumerated() {
            XCTAssertNil(try parser.nextRequest(), "complete too early at byte \(index)")
            feed(&parser, String(character))
        }
        XCTAssertEqual(try parser.nextRequest()?.body, Array("{\"data\":\"split\"}".utf8))
    }

    func testKeepAliveFollowsTheVersionAndConnectionHeader() throws {
        var parser = HTTPRequestParser(bodyLimit: 10)
        feed(&parser, "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n"
             + "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        let keepsAlive = try (0..<4).map { _ in try XCTUnwrap(parser.nextRequest()).keepsAlive }
        XCTAssertEqual(keepsAlive, [true, false, false, true])
    }

    private func refusal(_ text: String, bodyLimit: Int = 100) -> Int? {
        var parser = HTTPRequestParser(bodyLimit: bodyLimit)
        feed(&parser, text)
        do {
            _ = try parser.nextRequest()
            return nil
        } catch {
            return error.status
        }
    }

    func testRefusals() {
        XCTAssertEqual(refusal(post(String(repeating: "x", count: 101))), 413, "decided from Content-Length")
        XCTAssertEqual(refusal("POST /api/publish HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"), 413)
        XCTAssertEqual(refusal("POST /api/publish HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 411)
        XCTAssertEqual(refusal("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400)
        XCTAssertEqual(refusal("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400)
        XCTAssertEqual(refusal("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"), 400, "space before the colon")
        XCTAssertEqual(refusal("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"), 400, "obsolete line folding")
        XCTAssertEqual(refusal("GET noslash HTTP/1.1\r\n\r\n"), 400)
        XCTAssertEqual(refusal("GET / HTTP/2\r\n\r\n"), 505)
        XCTAssertEqual(refusal("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000) + "\r\n\r\n"), 431)
        XCTAssertEqual(refusal("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000)), 431,
                       "an unfinished head past the bound is refused without waiting for its end")
        XCTAssertNil(refusal(post(String(repeating: "x", count: 100))), "exactly at the limit is fine")
    }

    func testALongPipelinedStreamDoesNotGrowTheBuffer() throws {
        var parser = HTTPRequestParser(bodyLimit: 100)
        for round in 0..<10_000 {
            feed(&parser, post("{\"n\":\(round)}"))
            XCTAssertEqual(try parser.nextRequest()?.body, Array("{\"n\":\(round)}".utf8))
        }
        XCTAssertNil(try parser.nextRequest())
    }
}

final class FirstRequestTests: XCTestCase {
    private func classify(_ text: String, isFull: Bool = false) -> FirstRequest {
        Array(text.utf8).withUnsafeBytes { FirstRequest.classify($0, isFull: isFull) }
    }

    func testUpgradesGoToWebSocketEverythingElseToHTTP() {
        let upgrade = "GET /connection/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n"
        XCTAssertEqual(classify(upgrade), .webSocketUpgrade)
        XCTAssertEqual(classify("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), .plainHTTP)
        XCTAssertEqual(classify("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n"), .plainHTTP)
        XCTAssertEqual(classify("POST /api/publish HTTP/1.1\r\nHost"), .plainHTTP, "only a GET can upgrade")
        XCTAssertEqual(classify("\u{16}\u{03}\u{01}"), .plainHTTP, "not HTTP at all: the HTTP server refuses it")
    }

    func testAnUnfinishedGetWaitsUntilTheBufferIsFull() {
        XCTAssertEqual(classify("GE"), .undecided)
        XCTAssertEqual(classify("GET /connection/websocket HTTP/1.1\r\nUpgrade: websocket\r\n"), .undecided)
        XCTAssertEqual(classify("GET /x HTTP/1.1\r\nX: aaaa", isFull: true), .plainHTTP)
    }

    func testMoreThan64HeaderFieldsAndQueryParametersAre431AndSuchAnUpgradeComesHere() throws {
        func head(parameters: Int, upgrade: Bool = false) -> String {
            let query = (0..<parameters).map { "p\($0)=1" }.joined(separator: "&")
            return "GET /ws/news?\(query) HTTP/1.1\r\nHost: x\r\n"
                + (upgrade ? "Upgrade: websocket\r\nConnection: Upgrade\r\n" : "") + "\r\n"
        }
        var parser = HTTPRequestParser(bodyLimit: 100)
        Array(head(parameters: 63).utf8).withUnsafeBytes { parser.append($0) }
        XCTAssertEqual(try parser.nextRequest()?.query.count, 63, "63 parameters and one header: 64 fields")
        var over = HTTPRequestParser(bodyLimit: 100)
        Array(head(parameters: 64).utf8).withUnsafeBytes { over.append($0) }
        XCTAssertThrowsError(try over.nextRequest()) { XCTAssertEqual(($0 as? HTTPError)?.status, 431) }
        for (parameters, decision) in [(60, FirstRequest.webSocketUpgrade), (70, .plainHTTP)] {
            Array(head(parameters: parameters, upgrade: true).utf8).withUnsafeBytes { bytes in
                XCTAssertEqual(FirstRequest.classify(bytes, isFull: false), decision, "\(parameters) parameters")
            }
        }
    }
}
