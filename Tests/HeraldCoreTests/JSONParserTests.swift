import XCTest
@testable import HeraldCore

final class JSONParserTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    func testValues() throws {
        XCTAssertEqual(try parse(" null "), .null)
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse("-0.5e+10"), .number("-0.5e+10"))
        XCTAssertEqual(try parse(#""a\"b\\c\/\n\u00e9\ud83d\ude00""#), .string("a\"b\\c/\né😀"))
        XCTAssertEqual(try parse("[1,[],{}]"), .array([.number("1"), .array([]), .object(JSONObject(members: []))]))
        XCTAssertEqual(try parse(#""héllo""#), .string("héllo"))
    }

    func testRawRangesAreTheSourceBytes() throws {
        let text = #"{"channel":"a","data":{"x": [1, 2]} }"#
        let bytes = Array(text.utf8)
        guard case .object(let object) = try JSONParser.parse(bytes), let range = object.rawRange(of: "data") else {
            return XCTFail("not an object")
        }
        XCTAssertEqual(String(decoding: bytes[range], as: UTF8.self), #"{"x": [1, 2]}"#)
        let slice = Array(("xx" + text).utf8)[2...]
        guard case .object(let sliced) = try JSONParser.parse(slice), let sliceRange = sliced.rawRange(of: "data")
        else { return XCTFail("not an object") }
        XCTAssertEqual(String(decoding: slice[sliceRange], as: UTF8.self), #"{"x": [1, 2]}"#)
    }

    func testDuplicateKeysLastWins() throws {
        XCTAssertEqual(try parse(#"{"a":1,"a":2}"#).objectValue?["a"], .number("2"))
    }

    func testNumberAccessors() throws {
        XCTAssertEqual(try parse("18446744073709551615").uint64Value, UInt64.max)
        XCTAssertNil(try parse("18446744073709551616").uint64Value)
        XCTAssertNil(try parse("1.0").uint64Value)
        XCTAssertNil(try parse("-1").uint64Value)
        XCTAssertEqual(try parse("-1").int64Value, -1)
        XCTAssertEqual(try parse("2.5").doubleValue, 2.5)
    }

    func testInvalidDocuments() {
        let invalid = [
            "", " ", "nul", "[1,]", "{\"a\":1,}", "{a:1}", "'a'", "01", "1.", ".5", "1e", "-", "+1", "NaN",
            "[1 2]", "{\"a\" 1}", "\"abc", "\"\u{01}\"", #""\x""#, #""\u12""#, #""\ud800""#, #""\udc00x""#,
            #""\ud800\u0041""#, "[1]x", "{\"a\":1}}", "/* c */ 1", "\u{FEFF}1",
        ]
        for text in invalid {
            XCTAssertThrowsError(try parse(text), "accepted \(text.debugDescription)")
        }
    }

    func testInvalidUTF8InStrings() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xE2, 0x82, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], [0xC3, 0xA9],
        ]
        for bytes in cases {
            XCTAssertThrowsError(try JSONParser.parse(bytes), "accepted \(bytes)")
        }
    }

    func testNestingIsBounded() {
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
        XCTAssertThrowsError(try parse(String(repeating: "[", count: 65) + String(repeating: "]", count: 65))) {
            XCTAssertEqual(($0 as? JSONParseError)?.reason, "nesting too deep")
        }
        XCTAssertThrowsError(try parse(String(repeating: "[", count: 100_000)))
    }

    func testWriterRoundTrips() throws {
        for text in ["plain", "quote\" back\\slash", "ctl\u{01}\u{1F}\n\r\t\u{08}\u{0C}", "emoji 😀 é", ""] {
            var writer = JSONWriter()
            writer.appendString(text)
            XCTAssertEqual(try JSONParser.parse(writer.bytes), .string(text))
        }
        let document = #"{"a":[1,true,null,"x"],"b":{"c":-2.5e3}}"#
        var writer = JSONWriter()
        writer.append(try parse(document))
        XCTAssertEqual(String(decoding: writer.bytes, as: UTF8.self), document)
    }

    /// Random bytes and mutations of valid documents must give a value or an error, never a crash.
    func testHostileInputNeverCrashes() {
        var rng = SeededGenerator(seed: 42)
        let seeds = [#"{"id":1,"subscribe":{"channel":"a","data":[1,{"b":"\u00e9"}]}}"#, "[[[[1]]]]", #""\ud83d\ude00""#]
        for round in 0..<10_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = Array(seeds[round % seeds.count].utf8)
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let index = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0...2, using: &rng) {
                    case 0: bytes[index] = UInt8.random(in: 0...255, using: &rng)
                    case 1: bytes.remove(at: index)
                    default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: index)
                    }
                    if bytes.isEmpty { break }
                }
            }
            _ = try? JSONParser.parse(bytes)
        }
    }
}

/// SplitMix64, so the random inputs repeat run after run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
