/// The durable log behind channels of `durable` namespaces (`HeraldStore.SQLiteLog` implements it): a
/// publish to such a channel is acknowledged, and delivered, only once the log has it.
public protocol PublicationLog: AnyObject, Sendable {
    /// Streams kept by an earlier run, to continue their epochs and offsets.
    func storedStreams() throws(LogError) -> [StoredStream]
    /// Writes `publications` in one transaction; returns once they are on disk as `durability` asks.
    func append(_ publications: [(channel: String, epoch: String, publication: HistoryPublication)],
                durability: Durability) throws(LogError)
    /// Forgets a channel's publications and records its new epoch (`history_remove`).
    func reset(channel: String, epoch: String) throws(LogError)
    /// Deletes a channel's publications before `offset` (retention).
    func trim(channel: String, before offset: UInt64) throws(LogError)
    /// Bytes the log takes on disk, for the metrics.
    var byteSize: Int { get }
    /// Random text made once when the log is created and kept with it: a durable channel that was never
    /// published to gets its first epoch from it and its name, so a position given out for the empty channel
    /// still holds after a restart (and no longer does once the log is lost).
    var epochSeed: String { get }
}

public struct StoredStream: Sendable {
    public var channel: String
    public var epoch: String
    public var top: UInt64
    public var publications: [HistoryPublication]

    public init(channel: String, epoch: String, top: UInt64, publications: [HistoryPublication]) {
        self.channel = channel
        self.epoch = epoch
        self.top = top
        self.publications = publications
    }
}

/// Why the durable log failed; publishers get it as error 100 with this text.
public struct LogError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
