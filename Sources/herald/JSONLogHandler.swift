import Glibc
import HeraldCore
import Logging

/// `log.format: json`: each event as one JSON object on one line of standard output, for log collectors:
/// `{"time":…,"level":…,"source":…,"message":…,<metadata>…}`. One `write` per line, so lines from several
/// threads never interleave.
struct JSONLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        var out = JSONWriter(capacity: 256)
        out.appendRaw("{\"time\":")
        out.appendString(Self.timestamp())
        out.appendRaw(",\"level\":")
        out.appendString(level.rawValue)
        out.appendRaw(",\"source\":")
        out.appendString(source)
        out.appendRaw(",\"message\":")
        out.appendString(message.description)
        for (key, value) in self.metadata.merging(metadata ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
            out.appendRaw(",")
            out.appendString(key)
            out.appendRaw(":")
            out.appendString(value.description)
        }
        out.appendRaw("}\n")
        _ = out.bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }

    /// RFC 3339 in UTC with milliseconds.
    private static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let millis = Int(spec.tv_nsec / 1_000_000)
        return String(cString: buffer) + "." + String(millis + 1000).dropFirst() + "Z"
    }
}
