/// Fossil delta encoding (https://fossil-scm.org/home/doc/tip/www/delta_format.wiki), as Centrifuge's
/// `delta: fossil` subscriptions use it: the client SDKs apply these deltas, so `create` writes exactly
/// Fossil's format and `apply` reads anything a Fossil-compatible encoder writes.
///
/// A delta is the target's length and a newline, then commands, then the target's checksum:
/// `COUNT@OFFSET,` copies COUNT bytes of the source from OFFSET, `COUNT:` is followed by COUNT literal
/// bytes, and `CHECKSUM;` ends the delta. Numbers are base 64 with Fossil's digits `0-9 A-Z _ a-z ~`.
public enum FossilDelta {
    public struct Malformed: Error, Equatable, Sendable {
        public let reason: String
    }

    /// The source is indexed in blocks of this many bytes, so shorter matches are not found. Fossil's NHASH.
    private static let blockSize = 16
    /// Candidates tried per target position, as in Fossil: bounds the work on a source of repeated blocks.
    private static let maxCandidates = 250

    /// A delta that turns `source` into `target`, following Fossil's encoder: a hash table of the
    /// source's aligned blocks, probed at every position of the target with a rolling hash; each hit is
    /// extended forward and backward, and the longest extension that is cheaper to copy than to insert
    /// becomes a copy command. Linear in source + target, each target position probing at most
    /// `maxCandidates` blocks. Allocates only the hash table and the delta.
    public static func create(from source: [UInt8], to target: [UInt8]) -> [UInt8] {
        var delta: [UInt8] = []
        appendNumber(target.count, to: &delta)
        delta.append(UInt8(ascii: "\n"))
        guard source.count > blockSize else {
            appendInsert(target[...], to: &delta)
            appendChecksum(of: target, to: &delta)
            return delta
        }

        // Chained hash table over the source's blocks: `newestBlock[hash]` is the last block with that
        // hash, `olderBlock[block]` the one before it with the same hash (-1 ends a chain).
        let tableSize = source.count / blockSize
        var newestBlock = [Int](repeating: -1, count: tableSize)
        var olderBlock = [Int](repeating: -1, count: tableSize)
        var blockStart = 0
        while blockStart < source.count - blockSize {
            let slot = RollingHash(source, from: blockStart).slot(in: tableSize)
            olderBlock[blockStart / blockSize] = newestBlock[slot]
            newestBlock[slot] = blockStart / blockSize
            blockStart += blockSize
        }

        var base = 0  // target bytes before `base` are already encoded
        while base + blockSize < target.count {
            var hash = RollingHash(target, from: base)
            var step = 0  // the window being probed starts at base + step
            while true {
                var best = (count: 0, sourceOffset: 0, literalCount: 0)
                var block = newestBlock[hash.slot(in: tableSize)]
                var candidatesLeft = maxCandidates
                while block >= 0 && candidatesLeft > 0 {
                    candidatesLeft -= 1
                    let sourceStart = block * blockSize
                    let windowStart = base + step
                    var forward = 0
                    while sourceStart + forward < source.count, windowStart + forward < target.count,
                          source[sourceStart + forward] == target[windowStart + forward] {
                        forward += 1
                    }
                    // Backward no further than `base`: the bytes before it are already encoded.
                    var backward = 0
                    while backward < sourceStart, backward < step,
                          source[sourceStart - backward - 1] == target[windowStart - backward - 1] {
                        backward += 1
                    }
                    let count = forward + backward
                    let sourceOffset = sourceStart - backward
                    let literalCount = step - backward
                    let encodedSize = digitCount(literalCount) + digitCount(count) + digitCount(sourceOffset) + 3
                    if count >= encodedSize && count > best.count {
                        best = (count, sourceOffset, literalCount)
                    }
                    block = olderBlock[block]
                }
                if best.count > 0 {
                    if best.literalCount > 0 {
                        appendInsert(target[base..<(base + best.literalCount)], to: &delta)
                    }
                    appendNumber(best.count, to: &delta)
                    delta.append(UInt8(ascii: "@"))
                    appendNumber(best.sourceOffset, to: &delta)
                    delta.append(UInt8(ascii: ","))
                    base += best.literalCount + best.count
                    break
                }
                if base + step + blockSize >= target.count {
                    // No match before the target's end: the rest is literal.
                    appendInsert(target[base...], to: &delta)
                    base = target.count
                    break
                }
                hash.roll(out: target[base + step], in: target[base + step + blockSize])
                step += 1
            }
        }
        if base < target.count {
            appendInsert(target[base...], to: &delta)
        }
        appendChecksum(of: target, to: &delta)
        return delta
    }

    /// Applies `delta` to `source`; throws on a malformed delta or checksum mismatch. Every count and
    /// offset is checked against the source, the rest of the delta and the declared length before use.
    public static func apply(_ delta: [UInt8], to source: [UInt8]) throws(Malformed) -> [UInt8] {
        var reader = Reader(delta)
        let length = try reader.number()
        try reader.expect(UInt8(ascii: "\n"), "the target length is not followed by a newline")
        var target: [UInt8] = []
        // The declared length is only a claim: reserve no more than an honest delta could produce cheaply.
        target.reserveCapacity(min(length, source.count + delta.count))
        while !reader.isAtEnd {
            let count = try reader.number()
            switch try reader.byte() {
            case UInt8(ascii: "@"):
                let offset = try reader.number()
                try reader.expect(UInt8(ascii: ","), "a copy command is not terminated by ','")
                guard count <= length - target.count else { throw Malformed(reason: "a copy exceeds the target length") }
                guard offset <= source.count, count <= source.count - offset else {
                    throw Malformed(reason: "a copy extends past the end of the source")
                }
                target.append(contentsOf: source[offset..<(offset + count)])
            case UInt8(ascii: ":"):
                guard count <= length - target.count else { throw Malformed(reason: "an insert exceeds the target length") }
                target.append(contentsOf: try reader.bytes(count))
            case UInt8(ascii: ";"):
                guard reader.isAtEnd else { throw Malformed(reason: "bytes follow the checksum") }
                guard target.count == length else { throw Malformed(reason: "the target is shorter than declared") }
                guard count == Int(checksum(target)) else { throw Malformed(reason: "checksum mismatch") }
                return target
            default:
                throw Malformed(reason: "unknown command")
            }
        }
        throw Malformed(reason: "the delta ends without a checksum")
    }

    /// Fossil's checksum: the sum, modulo 2^32, of the bytes read as big-endian 32-bit words, a partial
    /// last word padded with zeros on the right.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var sum: UInt32 = 0
        var index = 0
        while index + 4 <= bytes.count {
            sum &+= UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16
                | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
            index += 4
        }
        var shift: UInt32 = 24
        while index < bytes.count {
            sum &+= UInt32(bytes[index]) << shift
            shift -= 8
            index += 1
        }
        return sum
    }

    /// Fossil's rolling hash of a `blockSize` window: `a` is the sum of the bytes, `b` the sum weighted
    /// by distance from the window's end, so sliding one byte costs O(1). Both wrap at 16 bits.
    private struct RollingHash {
        private var a: UInt16 = 0
        private var b: UInt16 = 0

        init(_ bytes: [UInt8], from start: Int) {
            for byte in bytes[start..<(start + FossilDelta.blockSize)] {
                a &+= UInt16(byte)
                b &+= a
            }
        }

        func slot(in tableSize: Int) -> Int {
            Int((UInt32(a) | UInt32(b) << 16) % UInt32(tableSize))
        }

        /// Slides the window one byte: `outgoing` was its first byte, `incoming` becomes its last.
        mutating func roll(out outgoing: UInt8, in incoming: UInt8) {
            a = a &- UInt16(outgoing) &+ UInt16(incoming)
            b = b &- UInt16(FossilDelta.blockSize) &* UInt16(outgoing) &+ a
        }
    }

    // MARK: Writing

    private static func appendInsert(_ literal: ArraySlice<UInt8>, to delta: inout [UInt8]) {
        appendNumber(literal.count, to: &delta)
        delta.append(UInt8(ascii: ":"))
        delta.append(contentsOf: literal)
    }

    private static func appendChecksum(of target: [UInt8], to delta: inout [UInt8]) {
        appendNumber(Int(checksum(target)), to: &delta)
        delta.append(UInt8(ascii: ";"))
    }

    private static func appendNumber(_ value: Int, to delta: inout [UInt8]) {
        var shift = (digitCount(value) - 1) * 6
        while shift >= 0 {
            delta.append(digit(value >> shift & 63))
            shift -= 6
        }
    }

    /// How many base-64 digits `value` takes; the encoder weighs this to decide whether a copy pays.
    private static func digitCount(_ value: Int) -> Int {
        var count = 1
        while value >> (6 * count) > 0 { count += 1 }
        return count
    }

    private static func digit(_ value: Int) -> UInt8 {
        switch value {
        case 0...9: UInt8(ascii: "0") + UInt8(value)
        case 10...35: UInt8(ascii: "A") + UInt8(value - 10)
        case 36: UInt8(ascii: "_")
        case 37...62: UInt8(ascii: "a") + UInt8(value - 37)
        default: UInt8(ascii: "~")
        }
    }

    private static func digitValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): Int(byte - UInt8(ascii: "A")) + 10
        case UInt8(ascii: "_"): 36
        case UInt8(ascii: "a")...UInt8(ascii: "z"): Int(byte - UInt8(ascii: "a")) + 37
        case UInt8(ascii: "~"): 63
        default: nil
        }
    }

    // MARK: Reading

    private struct Reader {
        private let delta: [UInt8]
        private var position = 0

        init(_ delta: [UInt8]) { self.delta = delta }

        var isAtEnd: Bool { position >= delta.count }

        mutating func byte() throws(Malformed) -> UInt8 {
            guard position < delta.count else { throw Malformed(reason: "the delta is truncated") }
            defer { position += 1 }
            return delta[position]
        }

        mutating func expect(_ expected: UInt8, _ reason: String) throws(Malformed) {
            guard try byte() == expected else { throw Malformed(reason: reason) }
        }

        /// A base-64 number of at least one digit. Fossil's counts, offsets and checksums are 32-bit,
        /// so anything larger is malformed (and stops a hostile length from overflowing arithmetic).
        mutating func number() throws(Malformed) -> Int {
            var value = 0
            let start = position
            while position < delta.count, let digit = FossilDelta.digitValue(delta[position]) {
                value = value << 6 | digit
                guard value <= Int(UInt32.max) else { throw Malformed(reason: "a number exceeds 32 bits") }
                position += 1
            }
            guard position > start else { throw Malformed(reason: "a number is missing") }
            return value
        }

        mutating func bytes(_ count: Int) throws(Malformed) -> ArraySlice<UInt8> {
            guard count <= delta.count - position else { throw Malformed(reason: "an insert runs past the end of the delta") }
            defer { position += count }
            return delta[position..<(position + count)]
        }
    }
}
