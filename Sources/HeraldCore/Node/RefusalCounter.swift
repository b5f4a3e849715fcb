import CoreMetrics
import Synchronization

/// How many times each kind of refusal happened since start (a refused token by reason, a limit hit), so an
/// operator can see abuse and misconfiguration: `/api/info` lists them and `/metrics` has them as
/// `herald_refused_total{kind}`. Kinds are a fixed set of names, so the series stay few.
public final class RefusalCounter: Sendable {
    private let counts = Mutex<[String: (count: UInt64, metric: Counter)]>([:])

    public init() {}

    public func count(_ kind: String) {
        let metric = counts.withLock { counts in
            let metric = counts[kind]?.metric ?? Counter(label: "herald_refused_total", dimensions: [("kind", kind)])
            counts[kind] = ((counts[kind]?.count ?? 0) + 1, metric)
            return metric
        }
        metric.increment()
    }

    /// Every kind counted so far, by name.
    public func snapshot() -> [(kind: String, count: UInt64)] {
        counts.withLock { $0 }.sorted { $0.key < $1.key }.map { (kind: $0.key, count: $0.value.count) }
    }
}
