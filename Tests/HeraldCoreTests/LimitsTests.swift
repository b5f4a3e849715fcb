@testable import HeraldCore
import XCTest

final class LimitsTests: XCTestCase {
    func testTokenBucketAllowsABurstThenTheRate() {
        var bucket = TokenBucket(rate: 10, burst: 3, now: 1_000)!
        XCTAssertEqual((0..<4).map { _ in bucket.take(now: 1_000) }, [true, true, true, false])
        XCTAssertFalse(bucket.take(now: 1_050), "half a token after 50 ms")
        XCTAssertTrue(bucket.take(now: 1_100), "one token after 100 ms at 10 a second")
        XCTAssertEqual((0..<4).map { _ in bucket.take(now: 60_000) }, [true, true, true, false], "refills up to the burst only")
    }

    func testTokenBucketWithRateZeroIsNoLimit() {
        XCTAssertNil(TokenBucket(rate: 0, burst: 5, now: 0))
    }

    func testConnectionsPerAddressCountsEachAddressOnItsOwn() {
        let limit = ConnectionsPerAddress(limit: 2)
        limit.add("10.0.0.1")
        XCTAssertFalse(limit.isFull("10.0.0.1"))
        limit.add("10.0.0.1")
        XCTAssertTrue(limit.isFull("10.0.0.1"))
        XCTAssertFalse(limit.isFull("10.0.0.2"))
        limit.remove("10.0.0.1")
        XCTAssertFalse(limit.isFull("10.0.0.1"))
        let unlimited = ConnectionsPerAddress(limit: 0)
        for _ in 0..<10 { unlimited.add("10.0.0.1") }
        XCTAssertFalse(unlimited.isFull("10.0.0.1"))
    }
}
