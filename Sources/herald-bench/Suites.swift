/// The scenarios of `make bench`, `make bench-quick` and the smoke test in `make test`.
struct Suites {
    let peers: [Peer]
    let workdir: String
    var runsPerPoint = 1

    /// The highest rate that passes (no loss, p99 within `p99Limit`, publisher within 95%), rising.
    func ceiling(_ scenario: String, _ peer: Peer, subscribers: Int, inFlight: Int, rates: [Double],
                 p99Limit: Double) -> PointResult? {
        var best: PointResult?
        for rate in rates {
            guard let result = median(peer, PointSpec(subscribers: subscribers, rate: rate, inFlight: inFlight)) else {
                break
            }
            let passed = result.passes(p99Limit: p99Limit)
            Report.point(scenario, result, passed: passed)
            if !passed { break }
            best = result
        }
        return best
    }

    /// Runs a point `runsPerPoint` times on fresh servers; the run with the median p99 stands for it.
    func median(_ peer: Peer, _ spec: PointSpec) -> PointResult? {
        var results: [PointResult] = []
        for _ in 0..<runsPerPoint {
            do {
                results.append(try Measurement.run(peer, spec, workdir: workdir))
            } catch {
                print("   \(peer.name): \(error)")
            }
        }
        guard !results.isEmpty else { return nil }
        return results.sorted { $0.p99 < $1.p99 }[results.count / 2]
    }

    func fanOut(subscribers: Int, inFlight: Int, rates: [Double], p99Limit: Double) -> [String: PointResult] {
        let scenario = "fanout-\(subscribers)-inflight-\(inFlight)"
        Report.header("\(subscribers) subscribers, \(inFlight) publishes in flight: highest rate with no loss, "
                      + "p99 <= \(Int(p99Limit)) ms, publisher >= 95%")
        var best: [String: PointResult] = [:]
        for peer in peers {
            best[peer.name] = ceiling(scenario, peer, subscribers: subscribers, inFlight: inFlight, rates: rates,
                                      p99Limit: p99Limit)
        }
        summarize(best, measure: "max msg/s") { $0.spec.rate }
        summarize(best, measure: "deliveries/s") { $0.deliveriesPerSecond }
        return best
    }

    func latency(subscribers: Int, rate: Double, seconds: Double) -> [String: PointResult] {
        Report.header("latency: \(subscribers) subscribers x \(Int(rate)) msg/s")
        var results: [String: PointResult] = [:]
        for peer in peers {
            var spec = PointSpec(subscribers: subscribers, rate: rate, inFlight: 4)
            spec.seconds = seconds
            if let result = median(peer, spec) {
                Report.point("latency-\(subscribers)x\(Int(rate))", result, passed: nil)
                results[peer.name] = result
            }
        }
        summarize(results, measure: "p99 ms", lowerIsBetter: true) { $0.p99 }
        return results
    }

    func channels(rate: Double) {
        Report.header("1,000 channels x 10 subscribers, publishing round-robin at \(Int(rate)) msg/s")
        var results: [String: PointResult] = [:]
        for peer in peers {
            var spec = PointSpec(subscribers: 10_000, rate: rate, inFlight: 64)
            spec.channels = 1000
            if let result = median(peer, spec) {
                Report.point("channels-1000x10", result, passed: result.passes(p99Limit: 1000))
                results[peer.name] = result
            }
        }
        summarize(results, measure: "p99 ms", lowerIsBetter: true) { $0.p99 }
    }

    func idle(connections: Int) {
        Report.header("idle: \(connections) connections (memory and connect rate)")
        var results: [String: PointResult] = [:]
        for peer in peers {
            var spec = PointSpec(subscribers: connections, rate: 1, inFlight: 1)
            spec.seconds = 1
            spec.warmupSeconds = 0
            if let result = median(peer, spec) {
                print("\(Report.pad(result.peer, 8))connected \(result.connected), "
                      + "\(Report.fmt(result.connectPerSecond, 0)) connections/s, RSS "
                      + "\(result.rssBeforeBytes / 1024) KiB before, \(result.rssIdleBytes / 1024) KiB idle, "
                      + "\(result.bytesPerConnection) B per connection")
                Report.json("idle-\(connections)", result, passed: nil)
                results[peer.name] = result
            }
        }
        summarize(results, measure: "bytes/connection", lowerIsBetter: true) { Double($0.bytesPerConnection) }
        summarize(results, measure: "connections/s") { $0.connectPerSecond }
    }

    /// Herald's figure against each peer's, as a ratio (higher is better for Herald either way).
    func summarize(_ results: [String: PointResult], measure: String, lowerIsBetter: Bool = false,
                   _ value: (PointResult) -> Double) {
        guard let herald = results["herald"] else {
            print("   herald: no passing point")
            return
        }
        for (name, peer) in results.sorted(by: { $0.key < $1.key }) where name != "herald" {
            let ratio = lowerIsBetter ? value(peer) / value(herald) : value(herald) / value(peer)
            print("   herald vs \(name), \(measure): \(Report.fmt(value(herald), 1)) vs \(Report.fmt(value(peer), 1))"
                  + " -> \(Report.fmt(ratio, 2))x" + (lowerIsBetter ? " (peer / herald)" : ""))
        }
        for name in peers.map(\.name) where results[name] == nil && name != "herald" {
            print("   \(name): no passing point")
        }
    }
}
