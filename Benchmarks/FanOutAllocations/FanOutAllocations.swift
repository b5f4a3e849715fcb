import Benchmark
import HeraldCore

// Allocations per publication on the fan-out path at 10, 1,000 and 10,000 subscribers. One iteration is one
// publication: `Node.publish` of a 64-byte payload, the loop's `drainInbox` handing the frame to every
// subscriber's queue, and every queue's write step. So each measured value is per publication, and it must
// not grow with the number of subscribers.
//
// Thresholds/ holds p90 = 3 mallocs per publication for each size (what all three measure: the encoder's
// buffer, the Frame and its bytes), and `absolute: 2` below lets that rise to 5. One allocation per
// subscriber adds 10 to 10,000 and fails `make bench-alloc`.

let benchmarks: @Sendable () -> Void = {
    for subscribers in [10, 1_000, 10_000] {
        Benchmark(
            "Publish_to_\(subscribers)_subscribers",  // no spaces: Thresholds/ files are named after it
            configuration: .init(
                metrics: [.mallocCountTotal, .throughput, .wallClock],  // only the count has a threshold
                maxDuration: .seconds(2),
                maxIterations: 1_000,
                thresholds: [.mallocCountTotal: .init(absolute: [.p90: 2])])
        ) { _, fanOut in
            fanOut.publishOne()
        } setup: {
            FanOut(subscribers: subscribers)
        }
    }
}

/// One event loop, made as the transport makes it, with `subscribers` sessions that connected and subscribed
/// to "news" with the Centrifuge JSON commands: the subscriptions are the real ones.
final class FanOut: @unchecked Sendable {  // built by the setup hook, then used by one iteration at a time
    private let node: Node
    private let loop: LoopContext
    private let writer = LoopWriter()
    private let connections: [Connection]
    private let payload = Array(#"{"t":1700000000000000,"s":1,"k":0,"p":"xxxxxxxxxxxxxxxxxxxxxxx"}"#.utf8)

    init(subscribers: Int) {
        var config = HeraldConfig()  // the secure defaults, opened only as far as anonymous subscribers need
        config.client.allowAnonymousConnectWithoutToken = true
        config.channel.withoutNamespace.allowSubscribeForClient = true
        config.channel.withoutNamespace.allowSubscribeForAnonymous = true
        node = Node(config: config, version: "bench", name: "bench", wakers: [{}])  // no thread to wake
        loop = node.makeLoopContexts()[0]
        connections = (0..<subscribers).map { [writer] _ in Connection(writer: writer) }
        for connection in connections {
            let session = loop.openSession(output: connection, now: 0)
            session.receive(Array(#"{"id":1,"connect":{}}"#.utf8), now: 0)
            session.receive(Array(#"{"id":2,"subscribe":{"channel":"news"}}"#.utf8), now: 0)
        }
        writer.writeMarked()  // the connect and subscribe replies
        precondition(payload.count == 64)
        precondition(node.channelCounts()["news"] == subscribers, "every session must be subscribed")

        // One publication before measuring: the queues, the inbox and the marked list grow their storage
        // once, as on a running server. It must reach every subscriber.
        let before = writer.framesWritten
        publishOne()
        precondition(writer.framesWritten - before == subscribers, "every subscriber must get the publication")
    }

    func publishOne() {
        do {
            _ = try node.publish(channel: "news", data: payload)
        } catch {
            preconditionFailure("publish failed: \(error)")
        }
        loop.drainInbox()
        writer.writeMarked()
    }
}

/// The loop's side of writing (HeraldTransport's `EventLoop`): the connections that got frames since the last
/// flush, and the buffer that several queued frames are gathered into for one write.
final class LoopWriter {
    var marked: [Connection] = []
    var gatherBuffer: [UInt8] = []
    var framesWritten = 0
    var bytesWritten = 0

    func writeMarked() {
        for connection in marked { connection.writeQueued() }
        marked.removeAll(keepingCapacity: true)
    }
}

/// Stands for HeraldTransport's `WebSocketConnection`: the same bounded queue, marked for a flush when it
/// stops being empty, and the same write step (`batchCount`, one frame's bytes as they are or several gathered
/// into the loop's buffer, the write, `removeFirst`). The write itself, `lws_write`, is the one part left
/// out: it needs libwebsockets and a peer, so the bytes are only counted.
final class Connection: SessionOutput {
    private unowned let writer: LoopWriter
    // client.queue_max_size and herald.queue_max_messages at their defaults.
    private var queue = OutboundQueue(maxBytes: 1_048_576, maxMessages: 16_384)

    init(writer: LoopWriter) {
        self.writer = writer
    }

    func send(_ frame: Frame) {
        let wasEmpty = queue.isEmpty
        guard queue.push(frame) else { preconditionFailure("queue bound reached") }
        if wasEmpty { writer.marked.append(self) }
    }

    func close(_ disconnect: Disconnect) {
        preconditionFailure("closed: \(disconnect)")
    }

    /// Each pass is one `writeQueued` of the transport: the first on the flush, the rest on POLLOUT.
    func writeQueued() {
        while !queue.isEmpty {
            let batch = queue.batchCount(fittingIn: 64 * 1024)  // TransportSettings.sendChunkSize
            if batch == 1 {
                writer.bytesWritten &+= queue[0].bytes.count
            } else {
                writer.gatherBuffer.removeAll(keepingCapacity: true)
                for offset in 0..<batch { writer.gatherBuffer.append(contentsOf: queue[offset].bytes) }
                writer.bytesWritten &+= writer.gatherBuffer.count
            }
            for offset in 0..<batch { writer.framesWritten &+= queue[offset].messageCount }
            queue.removeFirst(batch)
        }
    }
}
