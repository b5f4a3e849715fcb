import Synchronization

/// How many times each kind of refusal happened since start (a refused token by reason, a limit hit), so an
/// operator can see abuse and misconfiguration: `/api/info` lists them. Counted off the hot path only.
public final class RefusalCounter: Sendable {
    private let counts = Mutex<[String: UInt64]>([:])

    public init() {}

    public func count(_ kind: String) {
        counts.withLock { $0[kind, default: 0] += 1 }
    }

    /// Every kind counted so far, by name.
    public func snapshot() -> [(kind: String, count: UInt64)] {
        counts.withLock { $0 }.sorted { $0.key < $1.key }.map { (kind: $0.key, count: $0.value) }
    }
}
