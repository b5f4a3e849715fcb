import XCTest

@testable import HeraldCore

final class FossilDeltaTests: XCTestCase {
    private let config = Array(#"{"title": "Configuration of the payment service", "timeout_ms": 2500, "retries": 3, "endpoints": ["https://a.example", "https://b.example"]}"#.utf8)

    /// This delta was made by `create` and applied by centrifuge-python's `centrifuge.fossil.apply_delta`
    /// (the SDK's own applier), which gave exactly the changed document.
    func testAKnownDeltaIsTheFormatTheSDKsApply() throws {
        let changed = Array(String(decoding: config, as: UTF8.self).replacingFirst("2500", with: "3000").utf8)
        let delta = FossilDelta.create(from: config, to: changed)
        XCTAssertEqual(String(decoding: delta, as: UTF8.self), "2C\n10@0,2:301A@12,ThQ5l;")
        XCTAssertEqual(try FossilDelta.apply(delta, to: config), changed)
    }

    func testRoundTripsOfEdgeCasesAndRandomEdits() throws {
        var generator = SeededGenerator(seed: 42)
        let edges: [([UInt8], [UInt8])] = [([], []), ([], config), (config, []), (config, config),
                                           (Array("short".utf8), Array("shorter".utf8)),
                                           (Array("ünïcødé ✓ text, long enough to be indexed".utf8),
                                            Array("ünïcødé ✗ text, long enough to be indexed!".utf8))]
        for (source, target) in edges {
            XCTAssertEqual(try FossilDelta.apply(FossilDelta.create(from: source, to: target), to: source), target)
        }
        for round in 0..<300 {
            let source = (0..<[17, 100, 1000, 5000][round % 4]).map { _ in UInt8.random(in: 32...126, using: &generator) }
            var target = source
            for _ in 0..<(round % 6) {
                let at = Int.random(in: 0...target.count, using: &generator)
                target.insert(contentsOf: Array("edit \(round)".utf8), at: at)
                target.remove(at: Int.random(in: 0..<target.count, using: &generator))
            }
            XCTAssertEqual(try FossilDelta.apply(FossilDelta.create(from: source, to: target), to: source), target)
        }
    }

    func testASmallEditInALargeDocumentGivesASmallDelta() {
        let document = Array((0..<400).map { "{\"id\":\($0),\"name\":\"item \($0)\"}" }.joined(separator: ",").utf8)
        var changed = document
        changed.replaceSubrange(5000..<5010, with: Array("CHANGED!!!".utf8))
        XCTAssertGreaterThan(document.count, 10_000)
        XCTAssertLessThan(FossilDelta.create(from: document, to: changed).count, 64)
    }

    func testHostileDeltasAreRefusedNotTrappedOn() {
        let source = Array("the source text, sixteen bytes or more".utf8)
        let good = FossilDelta.create(from: source, to: Array("the source text, changed".utf8))
        var hostile: [[UInt8]] = ["", "5", "5\n", "5\n3@99,", "5\n9:ab", "5\n5:abcde", "5\n5:abcdeX;",
                                  "1\n2:ab0;", "~~~~~~~~\n", "5\n~~~~~~~@0,"].map { Array($0.utf8) }
        for cut in 1..<good.count { hostile.append(Array(good[..<cut])) }
        var wrongSum = good
        wrongSum[wrongSum.count - 2] = UInt8(ascii: "0")
        hostile.append(wrongSum)
        for delta in hostile {
            XCTAssertThrowsError(try FossilDelta.apply(delta, to: source), String(decoding: delta, as: UTF8.self))
        }
    }
}

private extension String {
    func replacingFirst(_ old: String, with new: String) -> String {
        guard let range = range(of: old) else { return self }
        return replacingCharacters(in: range, with: new)
    }
}

/// Reproducible pseudo-random numbers (SplitMix64), so a failing round can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
