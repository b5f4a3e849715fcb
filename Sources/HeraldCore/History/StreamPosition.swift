/// Where a channel's stream stands: `offset` grows by one per publication, `epoch` changes only when the
/// stream's history is reset (`history_remove`) or lost (a restart of a channel kept only in memory), so a
/// client holding a position from another epoch knows it cannot recover from it.
public struct StreamPosition: Equatable, Sendable {
    public var offset: UInt64
    public var epoch: String

    public init(offset: UInt64, epoch: String) {
        self.offset = offset
        self.epoch = epoch
    }

    /// A new random epoch: eight characters, as short as Centrifugo's and unlikely to repeat.
    static func newEpoch() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
        var generator = SystemRandomNumberGenerator()
        return String(decoding: (0..<8).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
    }
}
