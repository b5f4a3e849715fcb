import Foundation
import HeraldCore
import HeraldStore
import XCTest

final class SQLiteLogTests: XCTestCase {
    private var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "herald-log-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func publication(_ offset: UInt64, _ text: String, client: String? = nil) -> HistoryPublication {
        HistoryPublication(offset: offset, time: 1_700_000_000_000 + Int64(offset), data: Array(text.utf8),
                           info: client.map { ClientInfo(client: $0, user: "u") })
    }

    func testWhatIsAppendedIsReadBackAfterReopening() throws {
        let log = try SQLiteLog(directory: directory)
        try log.append([("a", "E1", publication(1, "1")), ("b", "E2", publication(1, "\"x\"", client: "c1")),
                        ("a", "E1", publication(2, "2"))], durability: .fsync)
        try log.append([("a", "E1", publication(3, "3"))], durability: .os)
        let streams = try SQLiteLog(directory: directory).storedStreams().sorted { $0.channel < $1.channel }
        XCTAssertEqual(streams.map(\.channel), ["a", "b"])
        XCTAssertEqual(streams[0].epoch, "E1")
        XCTAssertEqual(streams[0].top, 3)
        XCTAssertEqual(streams[0].publications, [publication(1, "1"), publication(2, "2"), publication(3, "3")])
        XCTAssertEqual(streams[1].publications, [publication(1, "\"x\"", client: "c1")])
    }

    func testTrimKeepsTheTopAndResetStartsANewEpoch() throws {
        let log = try SQLiteLog(directory: directory)
        try log.append((1...5).map { ("a", "E1", publication($0, "\($0)")) }, durability: .os)
        try log.trim(channel: "a", before: 6)
        var stream = try log.storedStreams()[0]
        XCTAssertEqual(stream.top, 5)
        XCTAssertEqual(stream.publications, [])
        try log.reset(channel: "a", epoch: "E2")
        stream = try log.storedStreams()[0]
        XCTAssertEqual(stream.epoch, "E2")
        XCTAssertEqual(stream.top, 0)
    }

    func testAnOffsetWrittenTwiceFailsTheWholeRound() throws {
        let log = try SQLiteLog(directory: directory)
        try log.append([("a", "E1", publication(1, "1"))], durability: .os)
        XCTAssertThrowsError(try log.append([("a", "E1", publication(2, "2")), ("a", "E1", publication(1, "1"))],
                                            durability: .os))
        XCTAssertEqual(try log.storedStreams()[0].publications.map(\.offset), [1])
    }

    func testADamagedDatabaseIsAClearError() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: directory + "/herald.sqlite"))
        XCTAssertThrowsError(try SQLiteLog(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("damaged"), "\(error)")
        }
    }

    func testAnUnwritableDirectoryIsAClearError() throws {
        XCTAssertThrowsError(try SQLiteLog(directory: "/proc/herald-data")) { error in
            XCTAssertTrue("\(error)".contains("/proc/herald-data"), "\(error)")
        }
    }
}
