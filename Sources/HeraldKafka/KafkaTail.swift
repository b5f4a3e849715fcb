import CRdKafka
import HeraldCore
import Synchronization

/// The bridges' consumer: one thread that polls every partition of the bridged topics (assigned by its
/// `TailWatch`, no consumer group, so every node reads everything) and hands each record to the bridge in
/// offset order.
final class KafkaTail: Sendable {
    private let sink: KafkaTailSink
    /// The consumer handle. librdkafka's calls are thread-safe: the watch assigns and seeks on it.
    nonisolated(unsafe) let handle: OpaquePointer
    let stopping = Atomic<Bool>(false)
    /// Set when librdkafka says every broker is down; the watch then checks, once they are back, whether
    /// partitions started over.
    let brokersLost = Atomic<Bool>(false)

    init(settings: HeraldConfig.Kafka, sink: KafkaTailSink) throws(RdKafkaHandle.Problem) {
        self.sink = sink
        handle = try RdKafkaHandle.make(
            RD_KAFKA_CONSUMER,
            // Incremental assignment wants a group id; with no subscribe and no commit, the group is never
            // joined, so a unique one keeps nodes from ever sharing partitions.
            role: [("client.id", "herald-tail"), ("group.id", "herald-tail-\(UInt64.random(in: 0...UInt64.max))"),
                   ("enable.auto.commit", "false"),
                   ("enable.auto.offset.store", "false"), ("enable.partition.eof", "false"),
                   // A position beyond the log's end means the log started over: read it from its start.
                   ("auto.offset.reset", "earliest")],
            brokers: settings.brokers, passthrough: settings.librdkafka)
        rd_kafka_poll_set_consumer(handle)
    }

    func stop() { stopping.store(true, ordering: .releasing) }

    /// The thread's body; returns after `stop()`. `close()` frees the handle once the watch stopped too.
    func run() {
        while !stopping.load(ordering: .acquiring) {
            guard let message = rd_kafka_consumer_poll(handle, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let error = message.pointee.err
            if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                sink.receive(RdKafkaHandle.record(message))
            } else if error == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN {
                sink.connection(ok: false, detail: RdKafkaHandle.describe(error))
                brokersLost.store(true, ordering: .releasing)
            }
        }
    }

    func close() {
        rd_kafka_consumer_close(handle)
        rd_kafka_destroy(handle)
    }
}
