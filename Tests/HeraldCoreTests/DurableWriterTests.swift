import XCTest

@testable import HeraldCore

final class DurableWriterTests: XCTestCase {
    /// A log the writer never reaches: its thread is not started, so publishes only queue up.
    private final class UnreachedLog: PublicationLog, @unchecked Sendable {
        func storedStreams() throws(LogError) -> [StoredStream] { [] }
        func append(_ publications: [(channel: String, epoch: String, publication: HistoryPublication)],
                    durability: Durability) throws(LogError) { XCTFail("the writer ran") }
        func reset(channel: String, epoch: String) throws(LogError) { XCTFail("the writer ran") }
        func trim(channel: String, before offset: UInt64) throws(LogError) { XCTFail("the writer ran") }
        var byteSize: Int { 0 }
        var epochSeed: String { "seed" }
    }

    func testPublishesPastTheWritersQueueBoundAreRefusedNotQueued() throws {
        var config = HeraldConfig()
        var orders = NamespaceOptions()
        orders.historySize = 10
        orders.historyTTL = .seconds(60)
        orders.durable = .fsync
        config.channel.namespaces = [Namespace(name: "orders", options: orders)]
        let node = Node(config: config, version: "test", name: "test", wakers: [{}], log: UnreachedLog())
        for _ in 0..<DurableWriter.maxQueued {
            XCTAssertEqual(try node.publish(channel: "orders:1", data: Array("1".utf8)), .pending)
        }
        XCTAssertThrowsError(try node.publish(channel: "orders:1", data: Array("1".utf8))) { error in
            XCTAssertEqual(error as? ProtocolError, .tooManyRequests)
        }
        XCTAssertThrowsError(try node.removeHistory(channel: "orders:1") { _ in }) { error in
            XCTAssertEqual(error as? ProtocolError, .tooManyRequests)
        }
    }
}
