import XCTest

@testable import HeraldCore

final class HistoryTests: XCTestCase {
    private func publication(_ offset: UInt64, time: Int64 = 1_000, bytes: Int = 1) -> HistoryPublication {
        HistoryPublication(offset: offset, time: time, data: Array(repeating: UInt8(ascii: "1"), count: bytes), info: nil)
    }

    private func limits(size: Int = 100, ttl: Int64 = 60_000, maxBytes: Int = 0, keepLatest: Bool = false) -> HistoryLimits {
        var options = NamespaceOptions()
        options.historySize = size
        options.historyTTL = .milliseconds(ttl)
        options.historyMaxBytes = maxBytes
        options.forceRecoveryMode = keepLatest ? .cache : .stream
        return HistoryLimits(options)
    }

    private func stream(_ count: UInt64, limits: HistoryLimits) -> ChannelStream {
        var stream = ChannelStream(epoch: "E")
        for offset in 1...count { stream.append(publication(offset), limits: limits) }
        return stream
    }

    func testCountBytesAndAgeBoundsTrimFromTheOldest() {
        XCTAssertEqual(stream(10, limits: limits(size: 3)).publications.map(\.offset), [8, 9, 10])
        // 65 bytes each (data + 64): 200 bytes keep three.
        XCTAssertEqual(stream(10, limits: limits(maxBytes: 200)).publications.map(\.offset), [8, 9, 10])
        var aged = stream(5, limits: limits())
        aged.trim(now: 1_000 + 60_000, limits: limits())
        XCTAssertEqual(aged.count, 0)
        XCTAssertEqual(aged.position, StreamPosition(offset: 5, epoch: "E"), "the position outlives the publications")
        var cache = stream(5, limits: limits(keepLatest: true))
        cache.trim(now: 10_000_000, limits: limits(keepLatest: true))
        XCTAssertEqual(cache.publications.map(\.offset), [5], "cache mode keeps the current value past the TTL")
    }

    func testPublicationsAfterAnOffsetWithLimits() {
        let kept = stream(10, limits: limits(size: 5))  // 6...10
        XCTAssertEqual(kept.publications(after: 7, limit: nil).map(\.offset), [8, 9, 10])
        XCTAssertEqual(kept.publications(after: 0, limit: 2).map(\.offset), [6, 7])
        XCTAssertEqual(kept.publications(after: 7, limit: Int.max).map(\.offset), [8, 9, 10])
        XCTAssertEqual(kept.publications(after: 10, limit: nil).map(\.offset), [])
        XCTAssertEqual(kept.publication(at: 9)?.offset, 9)
        XCTAssertNil(kept.publication(at: 5))
    }

    func testStreamRecovery() throws {
        let kept = stream(10, limits: limits(size: 5))  // 6...10
        func join(_ request: Recovery.Request, max: Int = 100) throws(ProtocolError) -> Recovery {
            try Recovery.join(kept, mode: .stream, enabled: true, request: request, maxPublications: max)
        }
        let recovered = try join(.init(recover: true, offset: 7, epoch: "E"))
        XCTAssertTrue(recovered.recovered)
        XCTAssertEqual(recovered.publications.map(\.offset), [8, 9, 10])
        XCTAssertEqual(recovered.position, StreamPosition(offset: 7, epoch: "E"))
        XCTAssertTrue(try join(.init(recover: true, offset: 10, epoch: "E")).recovered, "nothing missed")
        XCTAssertTrue(try join(.init(recover: true, offset: 5, epoch: "")).recovered, "empty epoch: this one")
        for request in [Recovery.Request(recover: true, offset: 4, epoch: "E"),  // trimmed
                        Recovery.Request(recover: true, offset: 7, epoch: "other")] {
            let outcome = try join(request)
            XCTAssertFalse(outcome.recovered)
            XCTAssertEqual(outcome.publications, [])
            XCTAssertEqual(outcome.position, StreamPosition(offset: 10, epoch: "E"))
        }
        XCTAssertFalse(try join(.init(recover: true, offset: 6, epoch: "E"), max: 3).recovered, "more missed than allowed")
        let tooBig = try Recovery.join(kept, mode: .stream, enabled: true, request: .init(recover: true, offset: 7, epoch: "E"),
                                       maxPublications: 100, maxBytes: 2 * 33)
        XCTAssertFalse(tooBig.recovered, "three publications of 33 reply bytes do not fit in 66")
        XCTAssertThrowsError(try join(.init(recover: true, offset: 11, epoch: "E")))
        XCTAssertThrowsError(try join(.init(recover: true, offset: 4, epoch: "E", rejectUnrecovered: true)))
    }

    func testCacheRecoveryGivesTheLatestToEveryone() throws {
        let kept = stream(10, limits: limits(size: 5))
        func join(_ request: Recovery.Request) throws(ProtocolError) -> Recovery {
            try Recovery.join(kept, mode: .cache, enabled: true, request: request, maxPublications: 100)
        }
        let first = try join(.init())
        XCTAssertEqual(first.publications.map(\.offset), [10])
        XCTAssertTrue(first.recovered && first.wasRecovering)
        XCTAssertEqual(try join(.init(recover: true, offset: 10, epoch: "E")).publications, [], "already up to date")
        XCTAssertEqual(try join(.init(recover: true, offset: 3, epoch: "old")).publications.map(\.offset), [10])
    }
}
