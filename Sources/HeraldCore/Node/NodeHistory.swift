/// History queries and resets: the client `history` command and the server API's `history` and
/// `history_remove`.
extension Node {
    /// How many publications a history request asks for: nil (or 0) for only the position, as in Centrifugo;
    /// -1 for all; otherwise at most `limit`.
    public struct HistoryQuery: Sendable {
        public var since: StreamPosition?
        public var limit: Int
        public var reverse: Bool

        public init(since: StreamPosition?, limit: Int, reverse: Bool) {
            self.since = since
            self.limit = limit
            self.reverse = reverse
        }
    }

    /// Publications of `channel` and its current position. Errors: 108 when the namespace keeps no history,
    /// 107 for a limit below -1 or a `since` offset past the top, 112 when `since` is from another epoch or
    /// older than what history still keeps.
    public func history(channel: String, _ query: HistoryQuery) throws(ProtocolError)
        -> (publications: [HistoryPublication], position: StreamPosition) {
        let (_, options) = try resolve(channel: channel)
        guard options.hasHistory else { throw .notAvailable }
        guard query.limit >= -1 else { throw .badRequest }
        let limits = HistoryLimits(options)
        return try history.entry(channel).stream.withLock { stream throws(ProtocolError) in
            bridge?.bind(channel, &stream)
            stream.trim(now: WallClock.nowMilliseconds(), limits: limits)
            let position = stream.position
            let count = query.limit == -1 ? Int.max : query.limit
            guard count > 0 else { return ([], position) }
            if let since = query.since {
                if !since.epoch.isEmpty && since.epoch != position.epoch { throw .unrecoverablePosition }
                if since.offset > position.offset { throw .badRequest }
                if query.reverse {
                    let before = stream.publications.filter { $0.offset < since.offset }
                    return (Array(before.reversed().prefix(count)), position)
                }
                if since.offset + 1 < stream.coveredFrom { throw .unrecoverablePosition }
                return (Array(stream.publications(after: since.offset, limit: count)), position)
            }
            let kept = stream.publications
            return (query.reverse ? Array(kept.reversed().prefix(count)) : Array(kept.prefix(count)), position)
        }
    }

    /// Forgets `channel`'s history and starts a new epoch, so positions from before cannot be recovered from.
    /// Durable channels are reset through the log's writer, in order with their publishes: then the answer
    /// is `.pending` and `whenDurable` gets the outcome on the writer's thread.
    public func removeHistory(channel: String,
                              whenDurable: @escaping @Sendable (Result<Void, ProtocolError>) -> Void)
        throws(ProtocolError) -> PublishAck {
        let (_, options) = try resolve(channel: channel)
        guard options.hasHistory else { throw .notAvailable }
        if options.durable != .none, let durableWriter {
            try durableWriter.enqueue(.reset(channel: channel, completion: whenDurable))
            return .pending
        }
        history.entry(channel).stream.withLock { $0.reset() }
        return .done(nil)
    }

    /// Applies `history_ttl` to every stream; called about once a second.
    public func expireHistory() {
        history.expire(now: WallClock.nowMilliseconds()) { channel in
            guard let (_, options) = try? resolve(channel: channel), options.hasHistory else { return nil }
            return HistoryLimits(options)
        }
    }

    /// The current position of `channel`'s stream (positioned subscriptions compare epochs with it).
    func streamPosition(of channel: String) -> StreamPosition {
        history.entry(channel).stream.withLock { $0.position }
    }
}
