import Logging
import Synchronization

/// How many times each kind of refusal happened since start (a refused token by reason, a limit hit, a
/// protocol violation), so an operator can see abuse and misconfiguration: `/api/info` lists them,
/// `/metrics` has them as `herald_refused_total{kind}`, and the log gets one line per kind at most every
/// `logInterval`, with how many happened since the last one: a misbehaving client cannot flood the log.
/// Kinds are a fixed set of names, so the series stay few.
public final class RefusalCounter: Sendable {
    static let logInterval = Duration.seconds(10)

    private struct Kind {
        var count: UInt64 = 0
        /// When the last line for this kind was logged, and how many happened since.
        var loggedAt: ContinuousClock.Instant?
        var unlogged = 0
    }

    private let kinds = Mutex<[String: Kind]>([:])
    private let metric = LabeledCounter("herald_refused_total", by: "kind")
    private let logger: Logger?

    public init(logger: Logger? = nil) {
        self.logger = logger
    }

    public func count(_ kind: String) {
        let now = ContinuousClock.now
        let toLog = kinds.withLock { kinds in
            var entry = kinds[kind] ?? Kind()
            entry.count += 1
            entry.unlogged += 1
            var toLog: Int?
            if entry.loggedAt.map({ now - $0 >= Self.logInterval }) ?? true {
                toLog = entry.unlogged
                entry.loggedAt = now
                entry.unlogged = 0
            }
            kinds[kind] = entry
            return toLog
        }
        metric.increment(kind)
        if let toLog {
            logger?.notice("refused", metadata: ["kind": "\(kind)", "since_last_line": "\(toLog)"])
        }
    }

    /// Every kind counted so far, by name.
    public func snapshot() -> [(kind: String, count: UInt64)] {
        kinds.withLock { $0 }.sorted { $0.key < $1.key }.map { (kind: $0.key, count: $0.value.count) }
    }
}
