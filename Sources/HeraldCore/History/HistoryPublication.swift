/// One publication kept in a channel's history.
public struct HistoryPublication: Equatable, Sendable {
    public let offset: UInt64
    /// When it was published, Unix milliseconds: what `history_ttl` is measured against, across restarts.
    public let time: Int64
    /// The published JSON, on one line (`Node.singleLine`).
    public let data: [UInt8]
    /// The publishing client, when a client published.
    public let info: ClientInfo?

    public init(offset: UInt64, time: Int64, data: [UInt8], info: ClientInfo?) {
        self.offset = offset
        self.time = time
        self.data = data
        self.info = info
    }

    /// What it costs to keep, for the namespace's byte bound: the data plus a fixed overhead.
    var retainedBytes: Int { data.count + 64 }

    /// About what it takes in a reply: the data, `{"data":…,"offset":N}`, and the publisher when known.
    var replyBytes: Int { data.count + 32 + (info.map { $0.client.utf8.count + $0.user.utf8.count + 32 } ?? 0) }
}
