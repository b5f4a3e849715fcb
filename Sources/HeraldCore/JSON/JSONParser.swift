/// A strict RFC 8259 parser for client commands and API bodies: hostile input gets an error with its byte
/// offset, never a crash (nesting is bounded, so the recursion is too).
public enum JSONParser {
    /// Containers nested deeper than this are rejected, which bounds the parser's stack use.
    static let maxDepth = 64

    /// Parses exactly one value; whitespace may surround it, nothing else may follow it.
    /// Raw ranges are indices of `bytes` (slice indices); error offsets count from the slice's start.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSONValue in
            try parse(buffer, base: bytes.startIndex)
        }
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSONValue in
            try parse(buffer, base: 0)
        }
    }

    /// Raw ranges are offsets from the start of `bytes`. Contiguous collections (such as `String.UTF8View`) are
    /// read in place; others are copied into an array first.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let inPlace = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) -> JSONValue in try parse(buffer, base: 0) }
        }
        if let inPlace { return try inPlace.get() }
        return try parse(Array(bytes))
    }

    private static func parse(_ buffer: UnsafeBufferPointer<UInt8>, base: Int) throws(JSONParseError) -> JSONValue {
        var reader = Reader(bytes: buffer, base: base)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.position == buffer.count else { throw reader.error("unexpected character after the value") }
        return value
    }
}

/// Reads the input through an `UnsafeBufferPointer` so the hot loops carry no retain/release or bounds-check
/// overhead. That buffer only checks indices in debug builds, so every read below is preceded by an explicit
/// comparison with `bytes.count` (through `current`, a length check before multi-byte reads, or the loop
/// condition of `skipPlainASCII`).
private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    /// Added to positions in raw ranges so they index the caller's collection.
    let base: Int
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>, base: Int) {
        self.bytes = bytes
        self.base = base
    }

    func error(_ reason: String, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(offset: offset ?? position, reason: reason)
    }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            position += 1
        }
    }

    /// The value starting at `position`; `depth` is how many containers enclose it.
    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard let byte = current else { throw error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
        let matched = word.withUTF8Buffer { word in
            var count = 0
            while count < word.count, position + count < bytes.count, bytes[position + count] == word[count] {
                count += 1
            }
            return count
        }
        position += matched
        guard matched == word.utf8CodeUnitCount else {
            throw error(position == bytes.count ? "unexpected end of input" : "unexpected character")
        }
        return value
    }

    private mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= JSONParser.maxDepth else { throw error("nesting too deep") }
        position += 1
        var members: [JSONMember] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
            return .object(JSONObject(members: members))
        }
        // Most objects and arrays are small; starting at 4 avoids the regrowth of 1, 2, 4 without wasting much.
        members.reserveCapacity(4)
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw unexpected(expecting: "expected a string key") }
            let key = try string()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw unexpected(expecting: "expected ':'") }
            position += 1
            skipWhitespace()
            let start = position
            let value = try value(depth: depth)
            members.append(JSONMember(key: key, value: value, raw: (base + start)..<(base + position)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return .object(JSONObject(members: members))
            default: throw unexpected(expecting: "expected ',' or '}'")
            }
        }
    }

    private mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= JSONParser.maxDepth else { throw error("nesting too deep") }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        elements.reserveCapacity(4)
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return .array(elements)
            default: throw unexpected(expecting: "expected ',' or ']'")
            }
        }
    }

    /// Truncated input reads better as such than as a missing token.
    private func unexpected(expecting reason: String) -> JSONParseError {
        error(position == bytes.count ? "unexpected end of input" : reason)
    }

    private mutating func number() throws(JSONParseError) -> String {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, isDigit(first) else { throw error("invalid number") }
        position += 1
        if first == UInt8(ascii: "0"), let next = current, isDigit(next) {
            throw error("leading zero in number")
        }
        skipDigits()
        if current == UInt8(ascii: ".") {
            position += 1
            guard let digit = current, isDigit(digit) else { throw error("invalid number") }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let digit = current, isDigit(digit) else { throw error("invalid number") }
            skipDigits()
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while let byte = current, isDigit(byte) { position += 1 }
    }

    /// A string starting at its opening quote. Strings without escapes (nearly all of them) are validated in one
    /// pass and decoded straight from the input; only an escape makes a copy.
    private mutating func string() throws(JSONParseError) -> String {
        position += 1
        let start = position
        while true {
            skipPlainASCII()
            guard let byte = current else { throw error("unterminated string") }
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                return String(decoding: slice, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in string") }
            if byte < 0x80 {
                position += 1
            } else {
                try skipUTF8Sequence()
            }
        }
        var decoded = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while true {
            let run = position
            skipPlainASCII()
            decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<position]))
            guard let byte = current else { throw error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape(into: &decoded)
            case ..<0x20:
                throw error("control character in string")
            case ..<0x80:
                decoded.append(byte)
                position += 1
            default:
                let sequenceStart = position
                try skipUTF8Sequence()
                decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[sequenceStart..<position]))
            }
        }
    }

    /// Moves to the next byte in a string that needs a closer look: a quote, a backslash, a control character or
    /// non-ASCII. Tests eight bytes at a time, which makes long strings about three times faster to scan; the only
    /// raw memory access here is an unaligned 8-byte load that the loop condition keeps inside the buffer.
    private mutating func skipPlainASCII() {
        guard let base = bytes.baseAddress else { return }
        let ones: UInt64 = 0x0101_0101_0101_0101
        while bytes.count - position >= 8 {
            // Little-endian order puts the first byte in the lowest bits, so the lowest flag is the first hit.
            let word = UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            // Per byte, the high bit ends up set for a zero byte of `quote` or `backslash` (Hacker's Delight 6-1),
            // for a byte below 0x20, or for a non-ASCII byte. Flags above the first hit may be spurious; that one
            // is exact.
            let special = (quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (word &- ones &* 0x20) | word
            let flags = special & (ones &* 0x80)
            if flags != 0 {
                position += flags.trailingZeroBitCount / 8
                return
            }
            position += 8
        }
    }

    /// The escape starting at the backslash at `position`; errors point at that backslash.
    private mutating func escape(into decoded: inout [UInt8]) throws(JSONParseError) {
        let backslash = position
        position += 1
        guard let byte = current else { throw error("unterminated string") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""): decoded.append(0x22)
        case UInt8(ascii: "\\"): decoded.append(0x5C)
        case UInt8(ascii: "/"): decoded.append(0x2F)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xDC00...0xDFFF).contains(scalar) { throw error("lone surrogate escape", at: backslash) }
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate is only valid as the first half of a `\uD8xx\uDCxx` pair.
                guard current == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u")
                else { throw error("lone surrogate escape", at: backslash) }
                position += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("lone surrogate escape", at: backslash) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            // Surrogates are excluded above, so every remaining value is a scalar.
            guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape", at: backslash) }
            UTF8.encode(unicode) { decoded.append($0) }
        default:
            throw error("invalid escape", at: backslash)
        }
    }

    /// The four hex digits of a `\u` escape.
    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current else { throw error("unterminated string") }
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence starting at `position` (no overlongs, no surrogates, at most
    /// U+10FFFF); errors point at its first byte.
    private mutating func skipUTF8Sequence() throws(JSONParseError) {
        let lead = bytes[position]
        let length: Int
        let minimum: UInt32
        var scalar: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(lead & 0x07)
        default: throw error("invalid UTF-8")
        }
        guard position + length <= bytes.count else { throw error("invalid UTF-8") }
        for index in 1..<length {
            let continuation = bytes[position + index]
            guard continuation & 0xC0 == 0x80 else { throw error("invalid UTF-8") }
            scalar = scalar << 6 | UInt32(continuation & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else {
            throw error("invalid UTF-8")
        }
        position += length
    }
}
