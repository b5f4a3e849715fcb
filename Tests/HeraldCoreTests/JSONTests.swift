import XCTest
@testable import HeraldCore

final class JSONTests: XCTestCase {
    // MARK: Helpers

    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    private func parseError(_ bytes: [UInt8]) -> JSONParseError? {
        do throws(JSONParseError) {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    /// Asserts that `text` is rejected with exactly this reason at exactly this offset.
    private func assertRejects(_ text: String, _ reason: String, at offset: Int,
                               file: StaticString = #filePath, line: UInt = #line) {
        assertRejects(Array(text.utf8), reason, at: offset, file: file, line: line)
    }

    private func assertRejects(_ bytes: [UInt8], _ reason: String, at offset: Int,
                               file: StaticString = #filePath, line: UInt = #line) {
        guard let error = parseError(bytes) else {
            return XCTFail("accepted \(String(decoding: bytes, as: UTF8.self).debugDescription) \(bytes)",
                           file: file, line: line)
        }
        XCTAssertEqual(error, JSONParseError(offset: offset, reason: reason),
                       "for \(String(decoding: bytes, as: UTF8.self).debugDescription)", file: file, line: line)
    }

    private func serialized(_ value: JSONValue) -> [UInt8] {
        var writer = JSONWriter()
        writer.append(value)
        return writer.bytes
    }

    private func text(_ bytes: some Sequence<UInt8>) -> String { String(decoding: Array(bytes), as: UTF8.self) }

    // MARK: Literals, whitespace, empty input

    func testLiterals() throws {
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse("false"), .bool(false))
        XCTAssertEqual(try parse(" \t\r\n true \n\t\r "), .bool(true))
        assertRejects("nul", "unexpected end of input", at: 3)
        assertRejects("nulx", "unexpected character", at: 3)
        assertRejects("True", "unexpected character", at: 0)
        assertRejects("fals", "unexpected end of input", at: 4)
        assertRejects("truex", "unexpected character after the value", at: 4)
        assertRejects("true false", "unexpected character after the value", at: 5)
        assertRejects("NaN", "unexpected character", at: 0)
        assertRejects("Infinity", "unexpected character", at: 0)
        assertRejects("-Infinity", "invalid number", at: 1)
        assertRejects("undefined", "unexpected character", at: 0)
        assertRejects("'a'", "unexpected character", at: 0)
    }

    func testEmptyInputIsAnError() {
        assertRejects("", "unexpected end of input", at: 0)
        assertRejects(" \n\t\r", "unexpected end of input", at: 4)
        XCTAssertThrowsError(try JSONParser.parse([UInt8]()[...]))
        XCTAssertThrowsError(try JSONParser.parse("".utf8))
    }

    func testOnlyTheFourWhitespaceCharactersAreAllowed() {
        assertRejects("\u{0C}1", "unexpected character", at: 0)  // form feed
        assertRejects("\u{0B}1", "unexpected character", at: 0)  // vertical tab
        assertRejects("1\u{0C}", "unexpected character after the value", at: 1)
        assertRejects("\u{A0}1", "unexpected character", at: 0)  // no-break space
        assertRejects("[1,\u{2003}2]", "unexpected character", at: 3)  // em space
    }

    func testNonASCIIOutsideStringsIsRejected() {
        assertRejects("\u{FEFF}1", "unexpected character", at: 0)  // byte order mark
        assertRejects("é", "unexpected character", at: 0)
        assertRejects([0xFF], "unexpected character", at: 0)
        assertRejects(#"{"a":1}é"#, "unexpected character after the value", at: 7)
        assertRejects(#"{é:1}"#, "expected a string key", at: 1)
        assertRejects("[1é]", "expected ',' or ']'", at: 2)
        assertRejects(#"{"a"é:1}"#, "expected ':'", at: 4)
    }

    // MARK: Numbers

    func testValidNumbersKeepTheirText() throws {
        let numbers = [
            "0", "-0", "1", "-1", "10", "0.5", "-0.5", "1e10", "1E10", "1e+10", "1e-10", "1E-0", "-0.0e0",
            "123456789012345678901234567890", "1.0", "2.50", "0.000001", "1e0400",
        ]
        for number in numbers {
            XCTAssertEqual(try parse(number), .number(number))
            XCTAssertEqual(try parse(" \(number)\n"), .number(number))
        }
        XCTAssertEqual(try parse("[1,-0,2.5e-3]"), .array([.number("1"), .number("-0"), .number("2.5e-3")]))
    }

    func testInvalidNumbers() {
        assertRejects("01", "leading zero in number", at: 1)
        assertRejects("00", "leading zero in number", at: 1)
        assertRejects("-01", "leading zero in number", at: 2)
        assertRejects("[01]", "leading zero in number", at: 2)
        assertRejects("1.", "invalid number", at: 2)
        assertRejects("1.e5", "invalid number", at: 2)
        assertRejects("-", "invalid number", at: 1)
        assertRejects("--1", "invalid number", at: 1)
        assertRejects("-.5", "invalid number", at: 1)
        assertRejects("1e", "invalid number", at: 2)
        assertRejects("1E", "invalid number", at: 2)
        assertRejects("1e+", "invalid number", at: 3)
        assertRejects("1e+-1", "invalid number", at: 3)
        assertRejects(".5", "unexpected character", at: 0)
        assertRejects("+1", "unexpected character", at: 0)
        assertRejects("0x10", "unexpected character after the value", at: 1)
        assertRejects("1_000", "unexpected character after the value", at: 1)
        assertRejects("1.5.", "unexpected character after the value", at: 3)
        assertRejects("1e5.0", "unexpected character after the value", at: 3)
    }

    // MARK: Strings

    func testStrings() throws {
        XCTAssertEqual(try parse(#""""#), .string(""))
        XCTAssertEqual(try parse(#""abc""#), .string("abc"))
        XCTAssertEqual(try parse(#""a/b\u007F""#), .string("a/b\u{7F}"))
        XCTAssertEqual(try parse("\"del\u{7F}\""), .string("del\u{7F}"))
        XCTAssertEqual(try parse(#""\"\\\/\b\f\n\r\t""#), .string("\"\\/\u{08}\u{0C}\n\r\t"))
        XCTAssertEqual(try parse(#""\u0041\u00e9\u20AC\uFFFF\u0000""#), .string("Aé€\u{FFFF}\u{0}"))
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(try parse(#""\uD83D\uDE00""#), .string("😀"))
        XCTAssertEqual(try parse(#""\uDBFF\uDFFF""#), .string("\u{10FFFF}"))
        XCTAssertEqual(try parse(#""\uD800\uDC00""#), .string("\u{10000}"))
        // Raw UTF-8 before and after an escape (the copying path).
        XCTAssertEqual(try parse(#""é\t😀 \"x\" ü""#), .string("é\t😀 \"x\" ü"))
    }

    /// Long strings are scanned eight bytes at a time; a byte that needs attention must be found at any position.
    func testSpecialBytesAtEveryPositionOfALongString() throws {
        for index in 0..<40 {
            let before = String(repeating: "a", count: index)
            let after = String(repeating: "b", count: 40 - index)
            XCTAssertEqual(try parse("\"\(before)\""), .string(before))
            XCTAssertEqual(try parse("\"\(before)\\\"\(after)\""), .string(before + "\"" + after))
            XCTAssertEqual(try parse("\"\(before)\\n\(after)\\t\(before)\""), .string(before + "\n" + after + "\t" + before))
            XCTAssertEqual(try parse("\"\(before)é\(after)😀\(before)\""), .string(before + "é" + after + "😀" + before))
            XCTAssertEqual(try parse("\"\(before)\u{7F}~ \(after)\""), .string(before + "\u{7F}~ " + after))
            assertRejects("\"\(before)\u{1F}\(after)\"", "control character in string", at: 1 + index)
            assertRejects("\"\\n\(before)\u{0}\(after)\"", "control character in string", at: 3 + index)
            assertRejects(Array("\"\(before)".utf8) + [0xFF] + Array("\(after)\"".utf8), "invalid UTF-8", at: 1 + index)
            assertRejects("\"\(before)\(after)", "unterminated string", at: 41)
            assertRejects("\"\\t\(before)\(after)", "unterminated string", at: 43)
        }
    }

    func testUnterminatedStrings() {
        assertRejects(#"""#, "unterminated string", at: 1)
        assertRejects(#""abc"#, "unterminated string", at: 4)
        assertRejects(#""a\n"#, "unterminated string", at: 4)
        assertRejects(#""\"#, "unterminated string", at: 2)
        assertRejects(#""\u"#, "unterminated string", at: 3)
        assertRejects(#""\u12"#, "unterminated string", at: 5)
        assertRejects(#"{"a"#, "unterminated string", at: 3)
    }

    func testControlCharactersInStringsAreRejected() {
        for control in UInt8(0)..<0x20 {
            assertRejects([0x22, control, 0x22], "control character in string", at: 1)
            assertRejects([0x22, 0x5C, UInt8(ascii: "n"), control, 0x22], "control character in string", at: 3)
        }
    }

    func testInvalidEscapes() {
        for escape in [#"\x"#, #"\'"#, #"\U0041"#, #"\0"#, #"\a"#, #"\ "#, #"\v"#, "\\\u{0A}"] {
            assertRejects("\"ab\(escape)\"", "invalid escape", at: 3)
        }
        assertRejects(#""\u12""#, "invalid \\u escape", at: 5)
        assertRejects(#""\u12G4""#, "invalid \\u escape", at: 5)
        assertRejects(#""\u-123""#, "invalid \\u escape", at: 3)
        assertRejects(#""\ud800\u12""#, "invalid \\u escape", at: 11)
    }

    func testLoneSurrogateEscapesAreRejected() {
        let lone = [
            #""\ud800""#, #""\ud800x""#, #""\ud800\u0041""#, #""\ud800\ud800""#, #""\udc00""#,
            #""\udfff\ud800""#, #""\uDBFF\n""#, #""\ud800\"""#, #""\ud800\uE000""#,
        ]
        for text in lone {
            assertRejects(text, "lone surrogate escape", at: 1)
        }
        assertRejects(#""ab\ud800""#, "lone surrogate escape", at: 3)
    }

    // MARK: UTF-8

    func testValidUTF8InStrings() throws {
        let samples = ["\u{80}", "\u{7FF}", "\u{800}", "\u{FFFD}", "\u{FFFF}", "\u{10000}", "\u{10FFFF}", "é€😀", "漢字"]
        for sample in samples {
            XCTAssertEqual(try parse("\"\(sample)\""), .string(sample))
            XCTAssertEqual(try parse("\"\\n\(sample)\""), .string("\n" + sample))
            XCTAssertEqual(try parse("{\"\(sample)\":1}").objectValue?[sample], .number("1"))
        }
    }

    func testInvalidUTF8InStringsIsRejected() {
        let sequences: [[UInt8]] = [
            [0x80], [0xBF],  // continuation bytes without a lead
            [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF],  // overlong
            [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF],  // overlong
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],  // UTF-16 surrogates
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],  // beyond U+10FFFF
            [0xFE], [0xFF],
            [0xC2], [0xE2, 0x82], [0xF0, 0x9F, 0x98],  // truncated before the closing quote
            [0xC3, 0x28], [0xE2, 0x28, 0xA1], [0xE2, 0x82, 0x41], [0xF0, 0x9F, 0x41, 0x80],  // bad continuation
        ]
        for sequence in sequences {
            assertRejects([0x22] + sequence + [0x22], "invalid UTF-8", at: 1)
            assertRejects([0x22, 0x61, 0x62] + sequence + [0x22], "invalid UTF-8", at: 3)
            assertRejects([0x22, 0x5C, 0x6E] + sequence + [0x22], "invalid UTF-8", at: 3)  // after an escape
            assertRejects([0x7B, 0x22] + sequence + [0x22, 0x3A, 0x31, 0x7D], "invalid UTF-8", at: 2)  // in a key
        }
        assertRejects([0x22, 0xE2, 0x82], "invalid UTF-8", at: 1)  // truncated by the end of input
        assertRejects([0x22, 0xF0], "invalid UTF-8", at: 1)
    }

    // MARK: Structure

    func testContainers() throws {
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("[ \n ]"), .array([]))
        XCTAssertEqual(try parse("{}"), .object(JSONObject(members: [])))
        XCTAssertEqual(try parse("{ \t }"), .object(JSONObject(members: [])))
        let value = try parse(#" { "a" : [ 1 , { "b" : null } , "s" ] , "c" : { } , "d" : [ [ ] ] } "#)
        let object = try XCTUnwrap(value.objectValue)
        XCTAssertEqual(object.members.map(\.key), ["a", "c", "d"])
        let array = try XCTUnwrap(object["a"]?.arrayValue)
        XCTAssertEqual(array.count, 3)
        XCTAssertEqual(array[0], .number("1"))
        XCTAssertEqual(array[1].objectValue?["b"], .null)
        XCTAssertEqual(array[2], .string("s"))
        XCTAssertEqual(object["c"]?.objectValue?.members.count, 0)
        XCTAssertEqual(object["d"], .array([.array([])]))
    }

    func testMalformedContainers() {
        assertRejects("[1,]", "unexpected character", at: 3)
        assertRejects("[1,2,]", "unexpected character", at: 5)
        assertRejects("[,1]", "unexpected character", at: 1)
        assertRejects("[,]", "unexpected character", at: 1)
        assertRejects("[1,,2]", "unexpected character", at: 3)
        assertRejects("[1 2]", "expected ',' or ']'", at: 3)
        assertRejects("[1:2]", "expected ',' or ']'", at: 2)
        assertRejects("[1}", "expected ',' or ']'", at: 2)
        assertRejects("[", "unexpected end of input", at: 1)
        assertRejects("[1", "unexpected end of input", at: 2)
        assertRejects("[1,", "unexpected end of input", at: 3)
        assertRejects("]", "unexpected character", at: 0)
        assertRejects("[1]]", "unexpected character after the value", at: 3)
        assertRejects("[1] [2]", "unexpected character after the value", at: 4)
        assertRejects(#"{"a":1,}"#, "expected a string key", at: 7)
        assertRejects("{,}", "expected a string key", at: 1)
        assertRejects(#"{"a":1,,"b":2}"#, "expected a string key", at: 7)
        assertRejects("{a:1}", "expected a string key", at: 1)
        assertRejects("{'a':1}", "expected a string key", at: 1)
        assertRejects("{1:2}", "expected a string key", at: 1)
        assertRejects(#"{"a" 1}"#, "expected ':'", at: 5)
        assertRejects(#"{"a"}"#, "expected ':'", at: 4)
        assertRejects(#"{"a"=1}"#, "expected ':'", at: 4)
        assertRejects(#"{"a":}"#, "unexpected character", at: 5)
        assertRejects(#"{"a":1 "b":2}"#, "expected ',' or '}'", at: 7)
        assertRejects(#"{"a":1]"#, "expected ',' or '}'", at: 6)
        assertRejects("{", "unexpected end of input", at: 1)
        assertRejects(#"{"a""#, "unexpected end of input", at: 4)
        assertRejects(#"{"a":"#, "unexpected end of input", at: 5)
        assertRejects(#"{"a":1"#, "unexpected end of input", at: 6)
        assertRejects(#"{"a":1,"#, "unexpected end of input", at: 7)
        assertRejects(#"{"a":1}}"#, "unexpected character after the value", at: 7)
        assertRejects(#"{"a":1}{"#, "unexpected character after the value", at: 7)
    }

    func testCommentsAreRejected() {
        assertRejects("/* c */ 1", "unexpected character", at: 0)
        assertRejects("// c\n1", "unexpected character", at: 0)
        assertRejects("[1 // c\n]", "expected ',' or ']'", at: 3)
        assertRejects("1 # c", "unexpected character after the value", at: 2)
    }

    // MARK: Nesting

    func testNestingIsLimitedTo64() throws {
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
        assertRejects(String(repeating: "[", count: 65) + String(repeating: "]", count: 65), "nesting too deep", at: 64)

        let object64 = String(repeating: #"{"a":"#, count: 64) + "1" + String(repeating: "}", count: 64)
        XCTAssertNoThrow(try parse(object64))
        let object65 = String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65)
        assertRejects(object65, "nesting too deep", at: 64 * 5)

        let mixed64 = String(repeating: #"[{"a":"#, count: 32) + "0" + String(repeating: "}]", count: 32)
        XCTAssertNoThrow(try parse(mixed64))
        let mixed65 = "[" + mixed64 + "]"
        assertRejects(mixed65, "nesting too deep", at: 188)  // the 32nd "{", now 65 deep

        // Siblings do not add depth.
        let wide = "[" + Array(repeating: String(repeating: "[", count: 63) + String(repeating: "]", count: 63),
                                count: 100).joined(separator: ",") + "]"
        XCTAssertNoThrow(try parse(wide))
    }

    func testHostileNestingFailsWithoutExhaustingTheStack() {
        assertRejects(String(repeating: "[", count: 1_000_000), "nesting too deep", at: 64)
        assertRejects(String(repeating: #"{"a":"#, count: 200_000), "nesting too deep", at: 64 * 5)
        assertRejects(String(repeating: "[1,", count: 200_000), "nesting too deep", at: 64 * 3)
    }

    // MARK: Raw ranges

    func testRawRangeIsTheExactSourceBytesOfTheValue() throws {
        let bytes = Array(#"{"channel":"a","data":{"x": [1, 2]}}"#.utf8)
        let object = try XCTUnwrap(try JSONParser.parse(bytes).objectValue)
        XCTAssertEqual(text(bytes[try XCTUnwrap(object.rawRange(of: "data"))]), #"{"x": [1, 2]}"#)
        XCTAssertEqual(text(bytes[try XCTUnwrap(object.rawRange(of: "channel"))]), #""a""#)
        XCTAssertNil(object.rawRange(of: "missing"))

        // Whitespace around the value is not part of it; member ranges of nested objects index the whole input.
        let spaced = Array(#"{ "data" :  [1, 2]  , "n" : -1.5e3 , "o": {"b": true } }"#.utf8)
        let spacedObject = try XCTUnwrap(try JSONParser.parse(spaced).objectValue)
        XCTAssertEqual(text(spaced[try XCTUnwrap(spacedObject.rawRange(of: "data"))]), "[1, 2]")
        XCTAssertEqual(text(spaced[try XCTUnwrap(spacedObject.rawRange(of: "n"))]), "-1.5e3")
        let inner = try XCTUnwrap(spacedObject["o"]?.objectValue?.rawRange(of: "b"))
        XCTAssertEqual(text(spaced[inner]), "true")

        // What the push frame is built from: the publisher's bytes, escapes and all, untouched.
        let publication = Array(#"{"data":{"msg":"caf\u00e9 \ud83d\ude00","n":1.50}}"#.utf8)
        let range = try XCTUnwrap(try JSONParser.parse(publication).objectValue?.rawRange(of: "data"))
        var push = JSONWriter()
        push.appendRaw(#"{"push":{"pub":{"data":"#)
        push.appendRaw(publication[range])
        push.appendRaw("}}}")
        XCTAssertEqual(text(push.bytes), #"{"push":{"pub":{"data":{"msg":"caf\u00e9 \ud83d\ude00","n":1.50}}}}"#)
    }

    func testRawRangesOfASliceAreSliceIndices() throws {
        let document = #"{"channel":"a","data":{"x": [1, 2]}}"#
        let slice = Array(("prefix" + document + "suffix").utf8).dropFirst(6).dropLast(6)
        let object = try XCTUnwrap(try JSONParser.parse(slice).objectValue)
        let range = try XCTUnwrap(object.rawRange(of: "data"))
        XCTAssertEqual(range.lowerBound, 6 + 22)
        XCTAssertEqual(text(slice[range]), #"{"x": [1, 2]}"#)
        // Error offsets count from the start of the slice.
        do throws(JSONParseError) {
            _ = try JSONParser.parse(Array("xx[1,]".utf8)[2...])
            XCTFail("accepted a trailing comma")
        } catch {
            XCTAssertEqual(error, JSONParseError(offset: 3, reason: "unexpected character"))
        }
    }

    func testOtherCollectionsGiveOffsetRanges() throws {
        let document = #"{"a":1,"data":[true]}"#
        let fromUTF8View = try XCTUnwrap(try JSONParser.parse(document.utf8).objectValue)
        XCTAssertEqual(fromUTF8View.rawRange(of: "data"), 14..<20)
        // Not contiguous, so it is copied first; same result.
        let lazy = Array(document.utf8).lazy.map { $0 }
        let fromLazy = try XCTUnwrap(try JSONParser.parse(lazy).objectValue)
        XCTAssertEqual(fromLazy.rawRange(of: "data"), 14..<20)
        XCTAssertEqual(fromLazy, fromUTF8View)
    }

    // MARK: Objects and accessors

    func testDuplicateKeysLastOneWins() throws {
        let bytes = Array(#"{"a":1,"b":2,"a":"three"}"#.utf8)
        let object = try XCTUnwrap(try JSONParser.parse(bytes).objectValue)
        XCTAssertEqual(object.members.map(\.key), ["a", "b", "a"])
        XCTAssertEqual(object.members.map(\.value), [.number("1"), .number("2"), .string("three")])
        XCTAssertEqual(object["a"], .string("three"))
        XCTAssertEqual(text(bytes[try XCTUnwrap(object.rawRange(of: "a"))]), #""three""#)
        XCTAssertNil(object["c"])
        // Keys are compared after unescaping.
        XCTAssertEqual(try parse(#"{"a":1,"\u0061":2}"#).objectValue?["a"], .number("2"))
    }

    func testValueAccessors() throws {
        XCTAssertEqual(JSONValue.string("s").stringValue, "s")
        XCTAssertEqual(JSONValue.bool(false).boolValue, false)
        XCTAssertEqual(JSONValue.array([.null]).arrayValue, [.null])
        XCTAssertEqual(try parse(#"{"k":null}"#).objectValue?["k"], .null)
        let others: [JSONValue] = [.null, .number("1"), .object(JSONObject(members: []))]
        for value in others {
            XCTAssertNil(value.stringValue)
            XCTAssertNil(value.boolValue)
            XCTAssertNil(value.arrayValue)
        }
        XCTAssertNil(JSONValue.array([]).objectValue)
        XCTAssertNil(JSONValue.string("1").uint64Value)
        XCTAssertNil(JSONValue.string("1").int64Value)
        XCTAssertNil(JSONValue.string("1").doubleValue)
        XCTAssertNil(JSONValue.bool(true).uint64Value)
    }

    func testUInt64Value() throws {
        XCTAssertEqual(try parse("0").uint64Value, 0)
        XCTAssertEqual(try parse("-0").uint64Value, 0)
        XCTAssertEqual(try parse("42").uint64Value, 42)
        XCTAssertEqual(try parse("18446744073709551615").uint64Value, UInt64.max)
        XCTAssertNil(try parse("18446744073709551616").uint64Value)
        XCTAssertNil(try parse("99999999999999999999999").uint64Value)
        XCTAssertNil(try parse("-1").uint64Value)
        XCTAssertNil(try parse("1.0").uint64Value)
        XCTAssertNil(try parse("1e2").uint64Value)
        XCTAssertNil(try parse("1E2").uint64Value)
        // Hand-built numbers that are not JSON integers are not read leniently.
        for text in ["+1", "007", "", "-", " 1", "1 ", "0x1"] {
            XCTAssertNil(JSONValue.number(text).uint64Value, text)
            XCTAssertNil(JSONValue.number(text).int64Value, text)
        }
    }

    func testInt64Value() throws {
        XCTAssertEqual(try parse("0").int64Value, 0)
        XCTAssertEqual(try parse("-0").int64Value, 0)
        XCTAssertEqual(try parse("-42").int64Value, -42)
        XCTAssertEqual(try parse("9223372036854775807").int64Value, Int64.max)
        XCTAssertEqual(try parse("-9223372036854775808").int64Value, Int64.min)
        XCTAssertNil(try parse("9223372036854775808").int64Value)
        XCTAssertNil(try parse("-9223372036854775809").int64Value)
        XCTAssertNil(try parse("-18446744073709551616").int64Value)
        XCTAssertNil(try parse("1.5").int64Value)
        XCTAssertNil(try parse("-1e3").int64Value)
    }

    func testDoubleValue() throws {
        XCTAssertEqual(try parse("2.5").doubleValue, 2.5)
        XCTAssertEqual(try parse("-0.5e+10").doubleValue, -5e9)
        XCTAssertEqual(try parse("1E3").doubleValue, 1000)
        XCTAssertEqual(try parse("10").doubleValue, 10)
        XCTAssertEqual(try parse("0.1").doubleValue, 0.1)
        XCTAssertEqual(try parse("18446744073709551616").doubleValue, 18446744073709551616.0)
        XCTAssertEqual(try parse("1e-400").doubleValue, 0)  // underflow rounds to zero, as IEEE 754 does
        XCTAssertNil(try parse("1e400").doubleValue)
        XCTAssertNil(try parse("-1e400").doubleValue)
    }

    // MARK: Writer

    func testWriterEscapesExactlyAsRFC8259Requires() {
        var writer = JSONWriter()
        writer.appendString("a\"b\\c/\u{08}\u{0C}\n\r\t\u{00}\u{01}\u{1B}\u{1F}\u{7F}é😀\u{2028}")
        XCTAssertEqual(text(writer.bytes), "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0000\\u0001\\u001b\\u001f\u{7F}é😀\u{2028}\"")
    }

    func testWriterStringsRoundTrip() throws {
        var samples = [
            "", "plain", "quote\" back\\slash", "\\\"\\\"", "ctl\u{01}\u{1F}\n\r\t\u{08}\u{0C}", "emoji 😀👩‍👩‍👧 é",
            "\u{0}", "e\u{301}", "\u{10FFFF}", "/",
            String(decoding: (UInt8(0)..<0x80).map { $0 }, as: UTF8.self),
        ]
        var rng = SplitMix64(seed: 7)
        let pool: [Unicode.Scalar] = ["\"", "\\", "/", "a", "\u{0}", "\u{1F}", "\u{7F}", "é", "€", "😀", "\u{FFFF}",
                                      "\u{10FFFF}", "\n", "\u{2028}"]
        for _ in 0..<500 {
            var sample = ""
            for _ in 0..<Int.random(in: 0...20, using: &rng) {
                sample.unicodeScalars.append(pool.randomElement(using: &rng)!)
            }
            samples.append(sample)
        }
        for sample in samples {
            var writer = JSONWriter()
            writer.appendString(sample)
            XCTAssertEqual(try JSONParser.parse(writer.bytes), .string(sample))
        }
    }

    func testWriterNumbersAndLiterals() {
        var writer = JSONWriter(capacity: 0)
        XCTAssertEqual(writer.bytes, [])
        for value in [0, 7, -7, 10, -10, 1_000_000, Int.max, Int.min] {
            writer.appendInt(value)
            writer.appendRaw(",")
        }
        for value: UInt64 in [0, 9, 10, 99, 100, UInt64.max] {
            writer.appendUInt64(value)
            writer.appendRaw(",")
        }
        writer.appendBool(true)
        writer.appendRaw(",")
        writer.appendBool(false)
        writer.appendRaw(Array(",null".utf8))
        let expected = "0,7,-7,10,-10,1000000,\(Int.max),\(Int.min),0,9,10,99,100,\(UInt64.max),true,false,null"
        XCTAssertEqual(text(writer.bytes), expected)
    }

    func testWriterSerializesValuesCompactly() throws {
        let document = #" { "a" : [ 1 , true , null , "x\u0041" ] , "b" : { "c" : -2.5E3 } , "é\n" : {} , "d" : [ ] , "a" : 0 } "#
        XCTAssertEqual(text(serialized(try parse(document))),
                       #"{"a":[1,true,null,"xA"],"b":{"c":-2.5E3},"é\n":{},"d":[],"a":0}"#)
        XCTAssertEqual(text(serialized(.array([.string("q\"")]))), #"["q\""]"#)
    }

    // MARK: Properties

    /// Random bytes and mutations of valid documents must give a value or a well-formed error, never a crash;
    /// whatever is accepted must survive a write/parse round trip, and every raw range must hold its value.
    func testRandomAndMutatedInputsNeverCrash() throws {
        var rng = SplitMix64(seed: 0x4845_5241_4C44)
        let seeds = [
            #"{"id":1,"publish":{"channel":"chat:index","data":{"text":"caf\u00e9 😀","n":[1,-2.5e3,true,null]}}}"#,
            #"[[[[1]]],{"a":{"b":{"c":[]}}},"\ud83d\ude00\n\"x\"",0,-0.0,1E+2]"#,
            #"{"connect":{"token":"abc","data":{}},"id":2}"#,
        ]
        let alphabet = Array(#"{}[],:"\ -+.0123456789eEtrufalsn"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xE2, 0xF0, 0xFF]
        var accepted = 0
        for round in 0..<10_000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0:
                bytes = (0..<Int.random(in: 0...48, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1:
                bytes = (0..<Int.random(in: 0...48, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            default:
                bytes = Array(seeds.randomElement(using: &rng)!.utf8)
                for _ in 0..<Int.random(in: 1...3, using: &rng) where !bytes.isEmpty {
                    let index = Int.random(in: 0..<bytes.count, using: &rng)
                    let byte = Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
                    switch Int.random(in: 0...2, using: &rng) {
                    case 0: bytes[index] = byte
                    case 1: bytes.remove(at: index)
                    default: bytes.insert(byte, at: index)
                    }
                }
            }
            do throws(JSONParseError) {
                let value = try JSONParser.parse(bytes)
                accepted += 1
                let written = serialized(value)
                XCTAssertEqual(serialized(try JSONParser.parse(written)), written)
                checkRawRanges(value, in: bytes)
            } catch {
                XCTAssert((0...bytes.count).contains(error.offset), "\(error) for \(bytes)")
                XCTAssertFalse(error.reason.isEmpty)
            }
        }
        XCTAssertGreaterThan(accepted, 100, "mutations should leave some documents valid")
    }

    private func checkRawRanges(_ value: JSONValue, in bytes: [UInt8]) {
        switch value {
        case .array(let elements):
            for element in elements { checkRawRanges(element, in: bytes) }
        case .object(let object):
            for member in object.members {
                XCTAssertEqual(serialized(try JSONParser.parse(bytes[member.raw])), serialized(member.value))
                checkRawRanges(member.value, in: bytes)
            }
        default:
            break
        }
    }

    /// Randomly generated documents parse back to what was written.
    func testGeneratedDocumentsRoundTrip() throws {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<2_000 {
            let value = randomValue(depth: 0, &rng)
            let written = serialized(value)
            XCTAssertEqual(serialized(try JSONParser.parse(written)), written)
        }
    }

    private func randomValue(depth: Int, _ rng: inout SplitMix64) -> JSONValue {
        let keys = ["a", "id", "data", "é", "\"q\"", "\u{1}", "😀"]
        switch Int.random(in: depth > 5 ? 0...3 : 0...5, using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .number(["0", "-0", "1.5e-7", "123456789012345678901234", "-12", "3E+2"].randomElement(using: &rng)!)
        case 3: return .string(keys.randomElement(using: &rng)! + keys.randomElement(using: &rng)!)
        case 4: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(depth: depth + 1, &rng) })
        default:
            let members = (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                JSONMember(key: keys.randomElement(using: &rng)!, value: randomValue(depth: depth + 1, &rng), raw: 0..<0)
            }
            return .object(JSONObject(members: members))
        }
    }
}
