/// The partitioner of Kafka's Java producer (and librdkafka's `murmur2_random` for keyed records):
/// `toPositive(murmur2(key)) % partitions`. Herald uses it to know a keyed channel's partition before any
/// record of it arrives, so other producers must partition the same way.
enum Murmur2 {
    static func partition(key: [UInt8], partitions: Int32) -> Int32 {
        Int32(bitPattern: UInt32(bitPattern: hash(key)) & 0x7fff_ffff) % partitions
    }

    /// Kafka's `Utils.murmur2`: MurmurHash2, 32 bits, seed 0x9747b28c.
    static func hash(_ data: [UInt8]) -> Int32 {
        let m: UInt32 = 0x5bd1_e995
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: data.count)
        var index = 0
        while index + 4 <= data.count {
            var k = UInt32(data[index]) | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2]) << 16
                | UInt32(data[index + 3]) << 24
            k &*= m
            k ^= k >> 24
            k &*= m
            h &*= m
            h ^= k
            index += 4
        }
        let rest = data.count - index
        if rest == 3 { h ^= UInt32(data[index + 2]) << 16 }
        if rest >= 2 { h ^= UInt32(data[index + 1]) << 8 }
        if rest >= 1 {
            h ^= UInt32(data[index])
            h &*= m
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }
}
