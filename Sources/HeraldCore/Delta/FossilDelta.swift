/// Fossil's delta format (https://fossil-scm.org/home/doc/tip/www/delta_format.wiki), which Centrifuge's
/// `delta: fossil` subscriptions use: the SDKs apply these deltas, so `create` must write exactly that
/// format. A delta is the target's length, then copy commands (`N@OFFSET,`: N bytes of the source) and
/// insert commands (`N:` then N literal bytes), then the target's checksum (`SUM;`). Numbers are written
/// in base 64 with Fossil's digits.
public enum FossilDelta {
    public struct Malformed: Error, Equatable, Sendable {
        public let reason: String
    }

    /// Bytes per block of the source that `create` indexes; matches shorter than this are not looked for.
    private static let blockSize = 16
    private static let digits = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~".utf8)

    /// A delta that turns `source` into `target`. The source's 16-byte blocks are indexed by a rolling
    /// hash; the target is scanned with the same hash, and each hit is grown forward and backward into the
    /// longest match, which becomes a copy when it is shorter to say than to insert.
    public static func create(from source: [UInt8], to target: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(target.count, 256) + 32)
        appendInt(target.count, to: &out)
        out.append(UInt8(ascii: "\n"))
        guard source.count > blockSize else {
            appendInsert(target[...], to: &out)
            appendChecksum(of: target, to: &out)
            return out
        }
        let hashCount = source.count / blockSize
        // landmark[hash]: the last block with that hash; collide[block]: the previous block with its hash.
        var collide = [Int](repeating: -1, count: hashCount)
        var landmark = [Int](repeating: -1, count: hashCount)
        var blockStart = 0
        while blockStart < source.count - blockSize {
            let hash = RollingHash(source, at: blockStart).value % UInt32(hashCount)
            collide[blockStart / blockSize] = landmark[Int(hash)]
            landmark[Int(hash)] = blockStart / blockSize
            blockStart += blockSize
        }

        var base = 0
        while base + blockSize < target.count {
            var rolling = RollingHash(target, at: base)
            var i = 0
            var best = (count: 0, sourceOffset: 0, literalCount: 0)
            while true {
                var block = landmark[Int(rolling.value % UInt32(hashCount))]
                var candidates = 250  // Fossil's bound on a hash chain walk
                while block >= 0 && candidates > 0 {
                    candidates -= 1
                    let sourceStart = block * blockSize
                    var forward = 0
                    while sourceStart + forward < source.count, base + i + forward < target.count,
                          source[sourceStart + forward] == target[base + i + forward] {
                        forward += 1
                    }
                    var backward = 0
                    while backward + 1 < sourceStart, backward + 1 <= i,
                          source[sourceStart - backward - 1] == target[base + i - backward - 1] {
                        backward += 1
                    }
                    let count = forward + backward
                    let offset = sourceStart - backward
                    let literalCount = i - backward
                    let cost = digitCount(literalCount) + digitCount(count) + digitCount(offset) + 3
                    if count >= cost && count > best.count {
                        best = (count, offset, literalCount)
                    }
                    block = collide[block]
                }
                if best.count > 0 {
                    if best.literalCount > 0 {
                        appendInsert(target[base..<(base + best.literalCount)], to: &out)
                        base += best.literalCount
                    }
                    appendInt(best.count, to: &out)
                    out.append(UInt8(ascii: "@"))
                    appendInt(best.sourceOffset, to: &out)
                    out.append(UInt8(ascii: ","))
                    base += best.count
                    break
                }
                if base + i + blockSize >= target.count {
                    appendInsert(target[base...], to: &out)
                    base = target.count
                    break
                }
                rolling.roll(in: target[base + i + blockSize])
                i += 1
            }
        }
        if base < target.count {
            appendInsert(target[base...], to: &out)
        }
        appendChecksum(of: target, to: &out)
        return out
    }

    /// The target `delta` describes, made from `source`. Every count and offset is checked against the
    /// delta's own length and the source, and the checksum against the result.
    public static func apply(_ delta: [UInt8], to source: [UInt8]) throws(Malformed) -> [UInt8] {
        var reader = Reader(bytes: delta)
        let length = try reader.int()
        guard try reader.byte() == UInt8(ascii: "\n") else { throw Malformed(reason: "no newline after the length") }
        guard length <= 1 << 31 else { throw Malformed(reason: "target length out of range") }
        var out: [UInt8] = []
        out.reserveCapacity(length)
        while !reader.atEnd {
            let count = try reader.int()
            switch try reader.byte() {
            case UInt8(ascii: "@"):
                let offset = try reader.int()
                guard try reader.byte() == UInt8(ascii: ",") else { throw Malformed(reason: "copy without a comma") }
                guard count <= length - out.count else { throw Malformed(reason: "copy past the target length") }
                guard offset <= source.count, count <= source.count - offset else {
                    throw Malformed(reason: "copy past the end of the source")
                }
                out.append(contentsOf: source[offset..<(offset + count)])
            case UInt8(ascii: ":"):
                guard count <= length - out.count else { throw Malformed(reason: "insert past the target length") }
                out.append(contentsOf: try reader.take(count))
            case UInt8(ascii: ";"):
                guard count == Int(checksum(out)) else { throw Malformed(reason: "checksum mismatch") }
                guard out.count == length else { throw Malformed(reason: "target length mismatch") }
                return out
            default:
                throw Malformed(reason: "unknown command")
            }
        }
        throw Malformed(reason: "unterminated delta")
    }

    // MARK: Pieces

    /// Fossil's rolling hash over a 16-byte window: two 16-bit sums, so moving the window costs O(1).
    private struct RollingHash {
        var a: UInt16 = 0
        var b: UInt16 = 0
        var window: [UInt8]
        var position = 0

        init(_ bytes: [UInt8], at start: Int) {
            window = Array(bytes[start..<(start + FossilDelta.blockSize)])
            for (index, byte) in window.enumerated() {
                a &+= UInt16(byte)
                b &+= UInt16(FossilDelta.blockSize - index) &* UInt16(byte)
            }
        }

        var value: UInt32 { UInt32(a) | UInt32(b) << 16 }

        mutating func roll(in byte: UInt8) {
            let old = window[position]
            window[position] = byte
            position = (position + 1) & (FossilDelta.blockSize - 1)
            a = a &- UInt16(old) &+ UInt16(byte)
            b = b &- UInt16(FossilDelta.blockSize) &* UInt16(old) &+ a
        }
    }

    /// Fossil's checksum: the sum of the target read as big-endian 32-bit words, the tail left-aligned.
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

    private static func digitCount(_ value: Int) -> Int {
        var count = 1
        var limit = 64
        while value >= limit {
            count += 1
            limit <<= 6
        }
        return count
    }

    private static func appendInt(_ value: Int, to out: inout [UInt8]) {
        var value = value
        var reversed: [UInt8] = []
        repeat {
            reversed.append(digits[value & 63])
            value >>= 6
        } while value > 0
        out.append(contentsOf: reversed.reversed())
    }

    private static func appendInsert(_ literal: ArraySlice<UInt8>, to out: inout [UInt8]) {
        appendInt(literal.count, to: &out)
        out.append(UInt8(ascii: ":"))
        out.append(contentsOf: literal)
    }

    private static func appendChecksum(of target: [UInt8], to out: inout [UInt8]) {
        appendInt(Int(checksum(target)), to: &out)
        out.append(UInt8(ascii: ";"))
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }

        mutating func byte() throws(Malformed) -> UInt8 {
            guard index < bytes.count else { throw Malformed(reason: "truncated") }
            defer { index += 1 }
            return bytes[index]
        }

        /// A base-64 number; at least one digit, and no more than fit in 36 bits.
        mutating func int() throws(Malformed) -> Int {
            var value = 0
            var count = 0
            while index < bytes.count, let digit = FossilDelta.digitValue(bytes[index]) {
                guard count < 6 else { throw Malformed(reason: "number too large") }
                value = value << 6 | digit
                count += 1
                index += 1
            }
            guard count > 0 else { throw Malformed(reason: "number expected") }
            return value
        }

        mutating func take(_ count: Int) throws(Malformed) -> ArraySlice<UInt8> {
            guard count <= bytes.count - index else { throw Malformed(reason: "insert past the end of the delta") }
            defer { index += count }
            return bytes[index..<(index + count)]
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
}
