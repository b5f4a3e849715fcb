/// Where a channel's stream stands: `offset` grows with each publication (by one, or, for a channel bridged
/// from Kafka, to its record's offset + 1), `epoch` changes only when the stream's history is reset
/// (`history_remove`), lost (a restart of a channel kept only in memory) or moved to another Kafka partition,
/// so a client holding a position from another epoch knows it cannot recover from it.
public struct StreamPosition: Equatable, Sendable {
    public var offset: UInt64
    public var epoch: String

    public init(offset: UInt64, epoch: String) {
        self.offset = offset
        self.epoch = epoch
    }

    /// A new random epoch: eight characters, as short as Centrifugo's and unlikely to repeat.
    static func newEpoch() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(decoding: (0..<8).map { _ in epochAlphabet.randomElement(using: &generator)! }, as: UTF8.self)
    }

    /// An epoch that `text` always gives: FNV-1a, 64 bits, written as 8 base-62 characters like the random ones.
    static func derivedEpoch(from text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
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

    /// The characters of an epoch.
    static let epochAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
}
