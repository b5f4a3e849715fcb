/// How much history one channel keeps: the namespace's `history_size`, `history_ttl` and
/// `history_max_bytes`. In cache recovery mode the latest publication outlives the TTL: it is the channel's
/// current value, which a new subscriber must get however old it is.
struct HistoryLimits: Equatable, Sendable {
    var size: Int
    var ttlMilliseconds: Int64
    /// 0: no bound beyond `size`.
    var maxBytes: Int
    var keepLatest: Bool

    init(_ options: NamespaceOptions) {
        size = options.historySize
        ttlMilliseconds = Int64(options.historyTTL.milliseconds)
        maxBytes = options.historyMaxBytes
        keepLatest = options.forceRecoveryMode == .cache
    }
}
