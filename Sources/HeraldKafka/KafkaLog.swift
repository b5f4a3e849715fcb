import CRdKafka
import Logging
import Synchronization

/// Sends librdkafka's own log lines to Herald's logger instead of stderr. A broker that is down makes
/// librdkafka log every reconnect attempt of every client handle, so each kind of line (client and
/// facility) is logged at most once per 10 s; the rest go to debug.
enum KafkaLog {
    nonisolated(unsafe) private static var logger: Logger?
    private static let lastLogged = Mutex<[String: ContinuousClock.Instant]>([:])

    /// Call once, before any librdkafka handle exists.
    static func route(to logger: Logger) { Self.logger = logger }

    /// Installs the routing on a handle's configuration.
    static func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, line in
            KafkaLog.emit(client: handle.map { String(cString: rd_kafka_name($0)) } ?? "librdkafka", level: level,
                          facility: facility.map { String(cString: $0) } ?? "", line: line.map { String(cString: $0) } ?? "")
        }
    }

    private static func emit(client: String, level: Int32, facility: String, line: String) {
        guard let logger else { return }
        let kind = client + "/" + facility
        let now = ContinuousClock.now
        let loud = level <= 4 && lastLogged.withLock { last in
            if let previous = last[kind], now - previous < .seconds(10) { return false }
            last[kind] = now
            return true
        }
        let text = "librdkafka \(client) \(facility): \(line)"
        switch (loud, level) {
        case (true, ...3): logger.error("\(text)")
        case (true, _): logger.warning("\(text)")
        default: logger.debug("\(text)")
        }
    }
}
