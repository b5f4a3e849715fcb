import Benchmark
import HeraldCore

// Allocations per publication on the fan-out path at 10, 1,000 and 10,000 subscribers. The path is Herald's
// own from `Node.publish` through the loop's inbox to every subscriber's queue and the loop's write buffer;
// only the socket write (libwebsockets) is left out. The counts must be the same at every size:
// `Benchmarks/Thresholds/` holds the measured count (3) for all three, so one allocation per subscriber fails
// `make bench-alloc` with thousands.

let benchmarks: @Sendable () -> Void = {
    for subscribers in [10, 1_000, 10_000] {
        Benchmark(
            "Publish_to_\(subscribers)_subscribers",  // no spaces: the threshold files are found by name
            configuration: .init(
                metrics: [.mallocCountTotal],
                maxDuration: .seconds(2),
                maxIterations: 200,
                // A toolchain may add an allocation or two; one per subscriber adds thousands.
                thresholds: [.mallocCountTotal: .init(absolute: [.p90: 2])])
        ) { benchmark in
            let fanOut = FanOut.shared(subscribers: subscribers)
            benchmark.startMeasurement()
            fanOut.publishOne()
            benchmark.stopMeasurement()
        }
    }
}

/// One loop with `subscribers` connected and subscribed sessions, built once per size.
final class FanOut {
    nonisolated(unsafe) private static var built: [Int: FanOut] = [:]

    static func shared(subscribers: Int) -> FanOut {
        if let fanOut = built[subscribers] { return fanOut }
        let fanOut = FanOut(subscribers: subscribers)
        built[subscribers] = fanOut
        return fanOut
    }

    private let node: Node
    private let loop: LoopContext
    private let connections: [Connection]
    private let writer = LoopWriter()
    private let payload = Array(#"{"t":1700000000000000,"s":1,"k":0,"p":"xxxxxxxxxxxxxxxxxxxxxxxx"}"#.utf8)

    private init(subscribers: Int) {
        var config = HeraldConfig()
        config.client.allowAnonymousConnectWithoutToken = true
        config.channel.withoutNamespace.allowSubscribeForClient = true
        config.channel.withoutNamespace.allowSubscribeForAnonymous = true
        node = Node(config: config, version: "bench", name: "bench", wakers: [{}])
        loop = node.makeLoopContexts()[0]
        connections = (0..<subscribers).map { _ in Connection() }
        for connection in connections {
            let session = loop.openSession(output: connection, now: 0)
            session.receive(Array(#"{"id":1,"connect":{}}"#.utf8), now: 0)
            session.receive(Array(#"{"id":2,"subscribe":{"channel":"news"}}"#.utf8), now: 0)
        }
        flush()
        precondition(connections.allSatisfy(\.subscribed), "every session must be subscribed")
        publishOne()  // first use of the arrays' storage happens here, not in a measurement
    }

    func publishOne() {
        do {
            try node.publish(channel: "news", data: payload)
        } catch {
            preconditionFailure("publish failed: \(error)")
        }
        loop.drainInbox()
        flush()
    }

    private func flush() {
        for connection in connections { connection.write(using: writer) }
    }
}

/// The loop's buffer that several queued frames are gathered into for one write.
final class LoopWriter {
    var gatherBuffer: [UInt8] = []
    var bytesWritten = 0
}

/// Stands for `WebSocketConnection`: the same bounded queue and the same write step (one frame's bytes
/// as they are, or several gathered into the loop's buffer, then removed); the bytes go nowhere.
final class Connection: SessionOutput {
    private var queue = OutboundQueue(maxBytes: 1 << 20, maxFrames: 16_384)
    private(set) var subscribed = false

    func send(_ frame: Frame) {
        if !subscribed {  // setup only: once subscribed, nothing here allocates
            subscribed = String(decoding: frame.bytes, as: UTF8.self).contains(#""id":2,"subscribe""#)
        }
        _ = queue.push(frame)
    }

    func close(_ disconnect: Disconnect) {
        preconditionFailure("closed: \(disconnect)")
    }

    func write(using writer: LoopWriter) {
        while !queue.isEmpty {
            let batch = queue.batchCount(fittingIn: 64 * 1024)
            if batch == 1 {
                writer.bytesWritten &+= queue[0].bytes.count
            } else {
                writer.gatherBuffer.removeAll(keepingCapacity: true)
                for offset in 0..<batch { writer.gatherBuffer.append(contentsOf: queue[offset].bytes) }
                writer.bytesWritten &+= writer.gatherBuffer.count
            }
            queue.removeFirst(batch)
        }
    }
}
