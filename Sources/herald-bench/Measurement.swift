import CBenchLoad
import Glibc
import Histogram

/// One measured point: a fresh server, N subscribers, publications at a fixed rate.
struct PointSpec {
    var subscribers: Int
    var channels = 1
    var rate: Double
    var inFlight: Int
    var seconds: Double = 5
    var warmupSeconds: Double = 1
    var payloadSize = 64
}

struct PointResult {
    let peer: String
    let spec: PointSpec
    let connected: Int
    let connectPerSecond: Double
    let rssBeforeBytes: Int
    let rssIdleBytes: Int
    let published: UInt64
    let publishErrors: UInt64
    let achievedRate: Double
    let expected: UInt64
    let received: UInt64
    let outOfOrder: UInt64
    let disconnects: UInt64
    let deliveriesPerSecond: Double
    /// Milliseconds.
    let p50, p90, p99, p999, max: Double
    /// Fractions of one core over the publishing phase.
    let serverCPU, toolCPU: Double

    var loss: UInt64 { expected > received ? expected - received : 0 }
    var bytesPerConnection: Int { connected > 0 ? (rssIdleBytes - rssBeforeBytes) / connected : 0 }
    var publisherKeptUp: Bool { achievedRate >= 0.95 * spec.rate }

    func passes(p99Limit: Double) -> Bool {
        loss == 0 && outOfOrder == 0 && disconnects == 0 && publishErrors == 0 && p99 <= p99Limit && publisherKeptUp
    }
}

enum Measurement {
    /// CPUs: the server runs on `serverCPU`; this process should already be pinned to another.
    static func run(_ peer: Peer, _ spec: PointSpec, serverCPU: Int = 0, workdir: String) throws -> PointResult {
        waitForQuietMachine()
        let port = freePort()
        let server = try ServerProcess(peer.command(port, serverCPU, workdir), port: port,
                                       logPath: "\(workdir)/\(peer.name)-\(port).log")
        defer { server.stop() }
        usleep(300_000)
        let rssBefore = server.residentBytes()

        var strings: [UnsafeMutablePointer<CChar>] = []
        func c(_ text: String?) -> UnsafePointer<CChar>? {
            guard let text else { return nil }
            let copy = strdup(text)!
            strings.append(copy)
            return UnsafePointer(copy)
        }
        defer { strings.forEach { free($0) } }
        var config = bench_config()
        config.host = c("127.0.0.1")
        config.port = Int32(port)
        config.ws_path = c(peer.wsPath)
        config.subscribe_message = c(peer.subscribeMessage)
        config.ready_marker = c(peer.readyMarker)
        config.publish_path = c(peer.publishPath)
        config.publish_prefix = c(peer.publishPrefix)
        config.publish_suffix = c(peer.publishSuffix)
        config.extra_headers = c(peer.extraHeaders)
        config.pong_reply = c(peer.pongReply)
        config.subscribers = Int32(spec.subscribers)
        config.channels = Int32(spec.channels)
        config.payload_size = Int32(spec.payloadSize)
        config.in_flight = Int32(spec.inFlight)
        // Spread over 127.0.0.x source addresses: TIME_WAIT from earlier points holds ports of one address.
        config.source_addresses = Int32(spec.subscribers / 2_000 + 1)

        guard let load = bench_create(&config) else { throw BenchError("cannot create the load generator") }
        defer { bench_destroy(load) }
        let connected = Int(bench_connect(load, 120))
        usleep(1_000_000)  // let the server settle before reading its idle memory
        let rssIdle = server.residentBytes()

        let serverCPUBefore = server.cpuSeconds(), toolCPUBefore = ownCPUSeconds(), started = monotonicSeconds()
        let status = bench_run(load, spec.rate, spec.seconds, spec.warmupSeconds, 3)
        let elapsed = monotonicSeconds() - started
        let serverCPUUsed = server.cpuSeconds() - serverCPUBefore, toolCPUUsed = ownCPUSeconds() - toolCPUBefore
        if status != 0 { throw BenchError("\(peer.name): \(String(cString: bench_last_error(load)))") }

        var results = bench_results()
        bench_get_results(load, &results)
        let histogram = latencyHistogram(load)
        let active = results.publish_seconds + results.drain_seconds
        return PointResult(
            peer: peer.name, spec: spec, connected: connected,
            connectPerSecond: results.connect_seconds > 0 ? Double(connected) / results.connect_seconds : 0,
            rssBeforeBytes: rssBefore, rssIdleBytes: rssIdle,
            published: results.published, publishErrors: results.publish_errors,
            achievedRate: Double(results.published) / spec.seconds,
            expected: results.expected, received: results.received, outOfOrder: results.out_of_order,
            disconnects: results.disconnects,
            deliveriesPerSecond: active > 0 ? Double(results.received) / active : 0,
            p50: milliseconds(histogram, 50), p90: milliseconds(histogram, 90), p99: milliseconds(histogram, 99),
            p999: milliseconds(histogram, 99.9), max: Double(histogram.max) / 1000,
            serverCPU: serverCPUUsed / elapsed, toolCPU: toolCPUUsed / elapsed)
    }

    /// Microsecond latencies from the load generator's fixed buckets, as an HdrHistogram.
    private static func latencyHistogram(_ load: OpaquePointer) -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000)
        let fine = bench_fine_histogram(load)!, coarse = bench_coarse_histogram(load)!
        for microseconds in 0..<Int(BENCH_FINE_US) where fine[microseconds] > 0 {
            _ = histogram.record(UInt64(microseconds), count: fine[microseconds])
        }
        for milliseconds in 0..<Int(BENCH_COARSE_MS) where coarse[milliseconds] > 0 {
            _ = histogram.record(UInt64(milliseconds) * 1000, count: coarse[milliseconds])
        }
        return histogram
    }

    private static func milliseconds(_ histogram: Histogram<UInt64>, _ percentile: Double) -> Double {
        histogram.totalCount == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    private static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// Waits (at most 10 s) until the machine's CPUs are mostly idle, so a run does not start in someone
    /// else's burst. The machine is shared; this only lowers the noise.
    static func waitForQuietMachine() {
        let deadline = monotonicSeconds() + 10
        while monotonicSeconds() < deadline {
            let first = cpuTimes()
            usleep(300_000)
            let second = cpuTimes()
            let total = Double(second.total - first.total), idle = Double(second.idle - first.idle)
            if total > 0, idle / total > 0.85 { return }
        }
    }

    private static func cpuTimes() -> (total: UInt64, idle: UInt64) {
        let line = readText("/proc/stat")?.split(separator: "\n").first ?? ""
        let values = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard values.count >= 5 else { return (0, 0) }
        return (values.reduce(0, +), values[3] + values[4])
    }
}
