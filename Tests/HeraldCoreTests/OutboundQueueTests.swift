import XCTest
@testable import HeraldCore

final class OutboundQueueTests: XCTestCase {
    private func frame(_ size: Int) -> Frame { Frame(text: [UInt8](repeating: 0x61, count: size)) }

    func testBoundInFrames() {
        var queue = OutboundQueue(maxBytes: 1 << 20, maxMessages: 2)
        XCTAssertTrue(queue.push(frame(1)))
        XCTAssertTrue(queue.push(frame(1)))
        XCTAssertFalse(queue.push(frame(1)), "a third frame passes the bound of two")
        XCTAssertEqual(queue.count, 2)
    }

    func testBoundInBytes() {
        var queue = OutboundQueue(maxBytes: 100, maxMessages: 100)
        XCTAssertTrue(queue.push(frame(60)))   // 62 bytes framed
        XCTAssertFalse(queue.push(frame(60)))
        XCTAssertEqual(queue.byteCount, 62)
    }

    func testPrefixGathersUpToTheLimitButAlwaysOne() {
        var queue = OutboundQueue(maxBytes: 1 << 20, maxMessages: 100)
        for _ in 0..<5 { _ = queue.push(frame(8)) }   // 10 bytes each
        XCTAssertEqual(queue.batchCount(fittingIn: 35), 3)
        XCTAssertEqual(queue.batchCount(fittingIn: 1), 1)
        queue.removeFirst(3)
        XCTAssertEqual(queue.count, 2)
        XCTAssertEqual(queue.byteCount, 20)
        queue.removeFirst(2)
        XCTAssertTrue(queue.isEmpty)
        XCTAssertEqual(queue.byteCount, 0)
        XCTAssertTrue(queue.push(frame(8)), "an emptied queue accepts again")
    }

    func testJoinedFramesAreBackToBackAndCountEachMessageAgainstTheBound() {
        let joined = Frame(joining: [Frame(text: Array("a".utf8)), Frame(text: Array("bc".utf8))])
        XCTAssertEqual(joined.bytes, [0x81, 1, 0x61, 0x81, 2, 0x62, 0x63])
        XCTAssertEqual(joined.messageCount, 2)
        var queue = OutboundQueue(maxBytes: 1 << 20, maxMessages: 3)
        XCTAssertTrue(queue.push(joined))
        XCTAssertEqual(queue.messageCount, 2)
        XCTAssertFalse(queue.push(joined), "2 + 2 messages pass the bound of 3")
        XCTAssertTrue(queue.push(frame(1)))
        queue.removeFirst(1)
        XCTAssertEqual(queue.messageCount, 1)
    }

    func testFrameHeaderLengths() {
        XCTAssertEqual(Array(Frame(text: Array("hi".utf8)).bytes), [0x81, 2, 0x68, 0x69])
        let medium = Frame(text: [UInt8](repeating: 0, count: 300)).bytes
        XCTAssertEqual(Array(medium[0..<4]), [0x81, 126, 0x01, 0x2C])
        let large = Frame(text: [UInt8](repeating: 0, count: 70_000)).bytes
        XCTAssertEqual(Array(large[0..<10]), [0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70])
        XCTAssertEqual(large.count, 70_010)
    }
}
