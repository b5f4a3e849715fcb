import XCTest

@testable import HeraldCore

final class FossilDeltaTests: XCTestCase {
    // MARK: Fixed vectors

    /// Each expected delta below was checked three ways: it is byte for byte what Fossil 2.21's own encoder
    /// writes (`fossil test-delta-create SRC TGT DELTA`), and both centrifuge-python's applier
    /// (`centrifuge.fossil.apply_delta(src, delta)`, what Centrifuge's SDKs do) and
    /// `fossil test-delta-apply SRC DELTA OUT` turned it into exactly the target.
    func testDeltasMatchFossilsEncoderAndApplyInTheSDKs() throws {
        let vectors: [(source: String, target: String, delta: [UInt8])] = [
            (#"{"title":"Configuration of the payment service","timeout_ms":2500,"retries":3,"region":"eu-west"}"#,
             #"{"title":"Configuration of the payment service","timeout_ms":3000,"retries":5,"region":"eu-west"}"#,
             Array(#"1X\#ny@0,G:3000,"retries":5K@1D,1Kl5tf;"#.utf8)),
            // The insert splits an emoji: deltas are over bytes, not characters.
            ("Ünïcødé: Привет, мир! 日本語のテキスト 🎉 — the quick brown fox",
             "Ünïcødé: Привет, мир! 日本語のテキスト 🚀 — the quick brown fox jumps",
             Array("1U\nz@0,2:".utf8) + [0x9A, 0x80] + Array("O@10,6: jumps1r8Yy;".utf8)),
        ]
        for (source, target, delta) in vectors {
            XCTAssertEqual(FossilDelta.create(from: Array(source.utf8), to: Array(target.utf8)), delta)
            XCTAssertEqual(try FossilDelta.apply(delta, to: Array(source.utf8)), Array(target.utf8))
        }
    }

    /// Written by hand from the format description, with what an encoder like ours never writes: copies
    /// out of order and the same source range copied twice. centrifuge.fossil.apply_delta and
    /// `fossil test-delta-apply` both gave the target below.
    func testAHandWrittenDeltaApplies() throws {
        let source = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        let delta = Array("V\nA@Q,6@0,9:–XYZ–6@0,oebqi;".utf8)
        XCTAssertEqual(try FossilDelta.apply(delta, to: source), Array("0123456789abcdef–XYZ–abcdef".utf8))
    }

    // MARK: Round trips

    func testEdgeCasesRoundTrip() throws {
        var generator = SplitMix64(seed: 1)
        let document = jsonDocument(items: 50)
        let unicode = Array(String(repeating: "Привет, мир! ✓ 日本語 — émojis 🎉 ", count: 20).utf8)
        let cases: [(String, [UInt8], [UInt8])] = [
            ("both empty", [], []),
            ("empty source", [], document),
            ("empty target", document, []),
            ("identical", document, document),
            ("source of one block", Array("0123456789abcdef".utf8), Array("0123456789abcdefX".utf8)),
            ("source just over one block", Array("0123456789abcdefg".utf8), Array("X0123456789abcdefg".utf8)),
            ("random bytes", randomBytes(3000, &generator), randomBytes(2500, &generator)),
            ("unicode", unicode, unicode.dropLast(10) + Array("✗ and more".utf8)),
            ("one repeated byte", [UInt8](repeating: 97, count: 5000), [UInt8](repeating: 97, count: 7000)),
            ("reordered halves", document, Array(document[(document.count / 2)...] + document[..<(document.count / 2)])),
        ]
        for (name, source, target) in cases {
            let delta = FossilDelta.create(from: source, to: target)
            XCTAssertEqual(try FossilDelta.apply(delta, to: source), target, name)
        }
    }

    func testSeededRandomEditsRoundTrip() throws {
        var generator = SplitMix64(seed: 42)
        for round in 0..<300 {
            let size = [0, 5, 17, 40, 200, 1000, 5000][round % 7]
            // A two-letter alphabet makes many false block matches; all 256 bytes make few true ones.
            let alphabet: [UInt8] = [Array("ab".utf8), Array("abcdefghij {}\":,".utf8), Array(0...255)][round % 3]
            let source = (0..<size).map { _ in alphabet.randomElement(using: &generator)! }
            var target = source
            for _ in 0..<Int.random(in: 0..<8, using: &generator) {
                let at = Int.random(in: 0...target.count, using: &generator)
                let piece = (0..<Int.random(in: 1..<40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: target.insert(contentsOf: piece, at: at)
                case 1: target.removeSubrange(at..<min(target.count, at + piece.count))
                default: target.replaceSubrange(at..<min(target.count, at + piece.count), with: piece)
                }
            }
            let delta = FossilDelta.create(from: source, to: target)
            XCTAssertEqual(try FossilDelta.apply(delta, to: source), target, "round \(round)")
        }
    }

    // MARK: Size

    /// The point of the format: a small change to a large payload costs a small delta. Here 10 bytes of
    /// 11,281 change and the delta is 100 bytes, byte for byte what `fossil test-delta-create` writes (the
    /// repetitive JSON lures the greedy encoder into a few short copies after the edit).
    func testASmallEditInALargeDocumentGivesASmallDelta() throws {
        let document = jsonDocument(items: 250)
        var changed = document
        changed.replaceSubrange(5000..<5010, with: Array("CHANGED!!!".utf8))
        XCTAssertGreaterThan(document.count, 10_000)

        let delta = FossilDelta.create(from: document, to: changed)
        XCTAssertLessThan(delta.count, 128)
        XCTAssertEqual(try FossilDelta.apply(delta, to: document), changed)
        XCTAssertLessThan(FossilDelta.create(from: document, to: document).count, 24)
    }

    // MARK: Hostile input

    func testMalformedDeltasThrowInsteadOfTrapping() {
        let source = Array("the source text, sixteen bytes or more".utf8)
        let target = Array("the source text, but changed".utf8)
        let good = FossilDelta.create(from: source, to: target)
        XCTAssertEqual(try FossilDelta.apply(good, to: source), target)

        let hostile: [(delta: [UInt8], reason: String)] = [
            ([], "a number is missing"),
            (Array("5!".utf8), "the target length is not followed by a newline"),
            (Array("5\n".utf8), "the delta ends without a checksum"),
            (Array("5\n@0,".utf8), "a number is missing"),
            (Array("5\n5!abcde".utf8), "unknown command"),
            (Array("5\n3@~,0;".utf8), "a copy extends past the end of the source"),
            (Array("~\n~@0,0;".utf8), "a copy extends past the end of the source"),
            (Array("5\n5@0;".utf8), "a copy command is not terminated by ','"),
            (Array("2\n5@0,0;".utf8), "a copy exceeds the target length"),
            (Array("9\n9:ab".utf8), "an insert runs past the end of the delta"),
            (Array("1\n2:ab0;".utf8), "an insert exceeds the target length"),
            (Array("5\n5:abcde".utf8), "the delta ends without a checksum"),
            (Array("9\n5:abcde0;".utf8), "the target is shorter than declared"),
            (Array("~~~~~~~\n0;".utf8), "a number exceeds 32 bits"),
            (Array("5\n~~~~~~~~~~~@0,".utf8), "a number exceeds 32 bits"),
            // Claims 4 GiB: must fail on what is delivered, not on reserving what is claimed.
            (Array("3~~~~~\n0;".utf8), "the target is shorter than declared"),
            (good + Array("x".utf8), "bytes follow the checksum"),
            (wrongChecksum(good), "checksum mismatch"),
        ]
        for (delta, reason) in hostile {
            XCTAssertThrowsError(try FossilDelta.apply(delta, to: source), String(decoding: delta, as: UTF8.self)) { error in
                XCTAssertEqual(error as? FossilDelta.Malformed, FossilDelta.Malformed(reason: reason))
            }
        }
        for cut in 0..<good.count {
            XCTAssertThrowsError(try FossilDelta.apply(Array(good[..<cut]), to: source), "truncated to \(cut) bytes")
        }
    }

    /// Random damage to real deltas: each must either apply or throw; the test passing means no trap.
    func testDamagedDeltasNeverTrap() {
        var generator = SplitMix64(seed: 7)
        let source = jsonDocument(items: 20)
        var target = source
        target.replaceSubrange(100..<120, with: Array("a different twenty..".utf8))
        let good = FossilDelta.create(from: source, to: target)
        let alphabet = Array("0123456789AZ_az~@,:;\n".utf8) + [0, 255]
        for _ in 0..<2000 {
            var damaged = good
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                damaged[Int.random(in: 0..<damaged.count, using: &generator)] = alphabet.randomElement(using: &generator)!
            }
            _ = try? FossilDelta.apply(damaged, to: source)
        }
    }

    // MARK: Helpers

    private func jsonDocument(items: Int) -> [UInt8] {
        Array(("[" + (0..<items).map { #"{"id":\#($0),"name":"item \#($0)","tags":["a","b"]}"# }.joined(separator: ",") + "]").utf8)
    }

    /// `delta` with the last digit of its checksum changed.
    private func wrongChecksum(_ delta: [UInt8]) -> [UInt8] {
        var changed = delta
        let lastDigit = changed.count - 2
        changed[lastDigit] = changed[lastDigit] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        return changed
    }

    private func randomBytes(_ count: Int, _ generator: inout SplitMix64) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
