import CLibWebSockets
import Logging

/// Sends libwebsockets' own errors and warnings to Herald's logger instead of stderr.
enum LibWebSocketsLog {
    nonisolated(unsafe) private static var logger: Logger?

    /// Call once, before any context exists (lws logs from every loop thread through one function).
    static func route(to logger: Logger) {
        Self.logger = logger
        lws_set_log_level(LLL_ERR | LLL_WARN, emitLibWebSocketsLine)
    }

    fileprivate static func emit(level: Int32, line: String) {
        let text = line.hasSuffix("\n") ? String(line.dropLast()) : line
        if level & LLL_ERR != 0 {
            logger?.error("libwebsockets: \(text)")
        } else {
            logger?.warning("libwebsockets: \(text)")
        }
    }
}

private func emitLibWebSocketsLine(_ level: Int32, _ line: UnsafePointer<CChar>?) {
    guard let line else { return }
    LibWebSocketsLog.emit(level: level, line: String(cString: line))
}
