extension StreamPosition {
    /// The epoch of a bridged channel in `partition` of `topic`: the same on every node, so a client can
    /// recover on any of them. `generation` counts the times this node saw the partition's log start over
    /// (topic recreated, data lost): positions from before are then refused rather than misread.
    static func kafkaEpoch(topic: String, partition: Int32, generation: Int) -> String {
        // FNV-1a, 64 bits, written as 8 base-62 characters like Herald's random epochs.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array("\(topic)/\(partition)/\(generation)".utf8) {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        var characters: [UInt8] = []
        for _ in 0..<8 {
            characters.append(epochAlphabet[Int(hash % UInt64(epochAlphabet.count))])
            hash /= UInt64(epochAlphabet.count)
        }
        return String(decoding: characters, as: UTF8.self)
    }
}
