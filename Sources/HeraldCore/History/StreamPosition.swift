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

    /// The characters of an epoch.
    static let epochAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
}
