import ArgumentParser
import Glibc

@main
struct HeraldBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald-bench",
        abstract: "Herald side by side with uWebSockets and Nchan: fan-out, latency, memory, connect rate.",
        discussion: """
            Run pinned to CPU 1 (`taskset -c 1 herald-bench ...`); every server is started pinned to CPU 0, \
            a fresh process per point. `make bench` and `make bench-quick` do both.
            """)

    enum Suite: String, ExpressibleByArgument { case smoke, quick, full, point }

    @Option(help: "smoke (Herald alone, a small point that must pass), quick (one point against uWS), full.")
    var suite: Suite = .quick
    @Option(help: """
        Servers to compare (herald-poll: Herald on libwebsockets' own poll loop; herald-raw, not by default: \
        Herald's raw WebSocket per channel, the peers' wire shape).
        """)
    var servers = "herald,herald-poll,uws,nchan"
    @Option(help: "The herald binary.") var herald = ".build/release/herald"
    @Option(help: "Directory of the peer scripts (uws.sh, nchan.sh).") var peers = "bench/peers"
    @Option(help: "Runs per point; the median (by p99) is reported.") var runs = 1
    @Option(help: "Append one JSON object per point to this file.") var json: String?
    @Option(help: "Scratch directory for configs and server logs.") var workdir = "/tmp/herald-bench"
    @Option(help: "With --suite point: subscribers, rate, publishes in flight, seconds.")
    var point = "1000,100,4,5"

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        mkdir(workdir, 0o755)
        if let json { Report.jsonFile = fopen(json, "a") }
        let wanted = Set(servers.split(separator: ",").map(String.init))
        var selected: [Peer] = [.herald(binary: herald)]
        if suite != .smoke {
            selected += [.herald(binary: herald, backend: "poll"), .heraldRaw(binary: herald),
                         .uWebSockets(peersDirectory: peers), .nchan(peersDirectory: peers)]
        }
        selected = selected.filter { wanted.contains($0.name) }
        // Herald on lws's own poll loop runs only where the event backend matters (10,000 sockets).
        var suites = Suites(peers: selected.filter { $0.name != "herald-poll" }, workdir: workdir)
        var backendComparison = Suites(peers: selected, workdir: workdir)
        backendComparison.runsPerPoint = runs
        suites.runsPerPoint = runs
        print("herald-bench \(suite.rawValue): \(selected.map(\.name).joined(separator: ", ")); "
              + "64-byte payloads; servers on CPU 0, this tool on CPU \(currentCPUs())")

        switch suite {
        case .smoke:
            Report.header("smoke: 200 subscribers x 200 msg/s")
            var spec = PointSpec(subscribers: 200, rate: 200, inFlight: 4)
            spec.seconds = 2
            let result = try Measurement.run(selected[0], spec, workdir: workdir)
            let passed = result.passes(p99Limit: 1000) && result.connected == 200
            Report.point("smoke", result, passed: passed)
            if !passed { throw ExitCode(1) }
        case .point:
            let values = point.split(separator: ",").compactMap { Double($0) }
            guard values.count == 4 else { throw ValidationError("--point SUBSCRIBERS,RATE,IN_FLIGHT,SECONDS") }
            Report.header("point")
            for peer in selected {
                var spec = PointSpec(subscribers: Int(values[0]), rate: values[1], inFlight: Int(values[2]))
                spec.seconds = values[3]
                if let result = suites.median(peer, spec) { Report.point("point", result, passed: nil) }
            }
        case .quick:
            _ = suites.fanOut(subscribers: 1000, inFlight: 4, rates: [250, 500], p99Limit: 50)
            _ = suites.fanOut(subscribers: 1000, inFlight: 64, rates: [1000, 2000], p99Limit: 50)
        case .full:
            _ = suites.fanOut(subscribers: 1000, inFlight: 4, rates: [100, 250, 500, 750, 1000, 1500], p99Limit: 50)
            _ = suites.fanOut(subscribers: 1000, inFlight: 64,
                              rates: [250, 500, 1000, 2000, 3000, 4000, 6000], p99Limit: 50)
            _ = suites.fanOut(subscribers: 10_000, inFlight: 4, rates: [5, 10, 25, 50, 75, 100], p99Limit: 1000)
            _ = backendComparison.fanOut(subscribers: 10_000, inFlight: 64,
                                         rates: [50, 100, 150, 200, 250, 300, 500], p99Limit: 1000)
            _ = suites.latency(subscribers: 1000, rate: 10, seconds: 10)
            _ = suites.latency(subscribers: 10_000, rate: 1, seconds: 20)
            suites.channels(rate: 500)
            backendComparison.idle(connections: 10_000)
            suites.idle(connections: 19_000)
        }
    }

    private func currentCPUs() -> String {
        let status = readText("/proc/self/status") ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") } ?? ""
        return line.split(separator: "\t").last.map(String.init) ?? "?"
    }
}
