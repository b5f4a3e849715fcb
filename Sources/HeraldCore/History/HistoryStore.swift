import Synchronization

/// Every channel's stream, node-wide: its position and kept publications. Each channel has its own lock,
/// held while a publication gets its offset and is posted to the loops, and while a subscriber joins, so
/// that a joining subscriber sees each publication exactly once: in its recovery or live, never both.
final class HistoryStore: Sendable {
    final class Entry: Sendable {
        let stream: Mutex<ChannelStream>
        init(_ stream: ChannelStream) { self.stream = Mutex(stream) }
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// The epoch of a channel's stream when it is first used.
    private let firstEpoch: @Sendable (_ channel: String) -> String

    init(firstEpoch: @escaping @Sendable (_ channel: String) -> String = { _ in StreamPosition.newEpoch() }) {
        self.firstEpoch = firstEpoch
    }

    /// The channel's entry, created empty in its first epoch the first time.
    func entry(_ channel: String) -> Entry {
        entries.withLock { map in
            if let entry = map[channel] { return entry }
            let entry = Entry(ChannelStream(epoch: firstEpoch(channel)))
            map[channel] = entry
            return entry
        }
    }

    /// Streams read back from the durable log at start.
    func restore(_ channel: String, _ stream: ChannelStream) {
        entries.withLock { $0[channel] = Entry(stream) }
    }

    /// Applies the age bounds to every stream; publishing applies the count and byte bounds as it goes.
    func expire(now: Int64, limits: (String) -> HistoryLimits?) {
        let all = entries.withLock { Array($0) }
        for (channel, entry) in all {
            guard let limits = limits(channel) else { continue }
            entry.stream.withLock { $0.trim(now: now, limits: limits) }
        }
    }

    /// The oldest offset each channel still keeps, for trimming the durable log behind memory.
    func retainedFrom(channels: some Sequence<String>) -> [(channel: String, firstKept: UInt64)] {
        channels.compactMap { channel in
            guard let entry = entries.withLock({ $0[channel] }) else { return nil }
            return (channel, entry.stream.withLock { $0.firstOffset })
        }
    }
}
