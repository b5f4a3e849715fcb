import Synchronization

/// Open connections per client address, for `herald.connections_per_ip`: one address (a script, a bot)
/// cannot take the node's connections from everyone else. Shared by every event loop. An upgrade is checked
/// with `isFull` and counted once it is established, so upgrades racing on several loops may overshoot the
/// limit by the few in flight.
public final class ConnectionsPerAddress: Sendable {
    private let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    /// `limit` 0 means no limit (nothing is counted).
    public init(limit: Int) {
        self.limit = limit
    }

    public func isFull(_ address: String) -> Bool {
        limit > 0 && counts.withLock { $0[address, default: 0] >= limit }
    }

    public func add(_ address: String) {
        guard limit > 0 else { return }
        counts.withLock { $0[address, default: 0] += 1 }
    }

    public func remove(_ address: String) {
        guard limit > 0 else { return }
        counts.withLock { counts in
            let open = counts[address, default: 1] - 1
            counts[address] = open > 0 ? open : nil
        }
    }
}
