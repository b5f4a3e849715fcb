import Glibc

/// Prints what was measured: a human table per scenario and one JSON line per point.
enum Report {
    nonisolated(unsafe) static var jsonFile: UnsafeMutablePointer<FILE>?

    static func header(_ title: String) {
        print("\n== \(title)")
        print(pad("server", 8) + pad("subs", 7) + pad("ch", 6) + pad("rate", 7) + pad("infl", 5) + pad("sent/s", 8)
              + pad("deliv/s", 10) + pad("loss", 8) + pad("p50ms", 8) + pad("p90ms", 8) + pad("p99ms", 8)
              + pad("p999ms", 8) + pad("maxms", 8) + pad("srvCPU", 7) + pad("toolCPU", 8) + "ok")
    }

    static func point(_ scenario: String, _ r: PointResult, passed: Bool?) {
        let line = pad(r.peer, 8) + pad("\(r.spec.subscribers)", 7) + pad("\(r.spec.channels)", 6)
            + pad(fmt(r.spec.rate, 0), 7) + pad("\(r.spec.inFlight)", 5) + pad(fmt(r.achievedRate, 0), 8)
            + pad(fmt(r.deliveriesPerSecond, 0), 10) + pad("\(r.loss)", 8) + pad(fmt(r.p50, 1), 8)
            + pad(fmt(r.p90, 1), 8) + pad(fmt(r.p99, 1), 8) + pad(fmt(r.p999, 1), 8) + pad(fmt(r.max, 1), 8)
            + pad(fmt(r.serverCPU * 100, 0) + "%", 7) + pad(fmt(r.toolCPU * 100, 0) + "%", 8)
            + (passed.map { $0 ? "yes" : "no" } ?? "-")
        print(line)
        if r.toolCPU > 0.9 {
            print("   warning: the load generator used \(fmt(r.toolCPU * 100, 0))% of a core: this figure is the tool's")
        }
        if r.outOfOrder > 0 || r.disconnects > 0 || r.publishErrors > 0 {
            print("   out of order \(r.outOfOrder), disconnects \(r.disconnects), publish errors \(r.publishErrors)")
        }
        json(scenario, r, passed: passed)
        fflush(stdout)
    }

    static func json(_ scenario: String, _ r: PointResult, passed: Bool?) {
        let fields: [(String, String)] = [
            ("scenario", "\"\(scenario)\""), ("server", "\"\(r.peer)\""), ("subscribers", "\(r.spec.subscribers)"),
            ("channels", "\(r.spec.channels)"), ("rate", fmt(r.spec.rate, 1)), ("in_flight", "\(r.spec.inFlight)"),
            ("payload_bytes", "\(r.spec.payloadSize)"), ("connected", "\(r.connected)"),
            ("connect_per_second", fmt(r.connectPerSecond, 0)), ("rss_before_bytes", "\(r.rssBeforeBytes)"),
            ("rss_idle_bytes", "\(r.rssIdleBytes)"), ("bytes_per_connection", "\(r.bytesPerConnection)"),
            ("published", "\(r.published)"), ("achieved_rate", fmt(r.achievedRate, 1)),
            ("expected", "\(r.expected)"), ("received", "\(r.received)"), ("loss", "\(r.loss)"),
            ("out_of_order", "\(r.outOfOrder)"), ("disconnects", "\(r.disconnects)"),
            ("deliveries_per_second", fmt(r.deliveriesPerSecond, 0)), ("p50_ms", fmt(r.p50, 3)),
            ("p90_ms", fmt(r.p90, 3)), ("p99_ms", fmt(r.p99, 3)), ("p999_ms", fmt(r.p999, 3)),
            ("max_ms", fmt(r.max, 3)), ("server_cpu", fmt(r.serverCPU, 3)), ("tool_cpu", fmt(r.toolCPU, 3)),
            ("passed", passed.map { $0 ? "true" : "false" } ?? "null"),
        ]
        let text = "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
        print("JSON " + text)
        if let jsonFile {
            fputs(text + "\n", jsonFile)
            fflush(jsonFile)
        }
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    static func fmt(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "inf" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals == 0 { return "\(Int(rounded))" }
        let whole = Int(rounded)
        var fraction = "\(Int(((abs(rounded) - Double(abs(whole))) * scale).rounded()))"
        while fraction.count < decimals { fraction = "0" + fraction }
        return "\(rounded < 0 && whole == 0 ? "-" : "")\(whole).\(fraction)"
    }
}
