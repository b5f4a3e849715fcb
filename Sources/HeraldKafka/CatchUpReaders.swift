import CRdKafka
import Glibc
import HeraldCore
import Synchronization

/// A bounded pool of consumers that read older records for subscribers catching up from a position that
/// memory no longer covers: each reader has its own connection and thread, takes one read at a time, and
/// reads its partition in pages until the end offset, so the event loops never wait on Kafka.
final class CatchUpReaders: @unchecked Sendable {
    struct Read {
        let topic: String
        let partition: Int32
        let from: Int64
        let until: Int64
        let visit: @Sendable (KafkaRecord) -> Bool
        let completion: @Sendable (Result<Int64, KafkaFailure>) -> Void
    }

    /// Reads waiting for a reader at most; past it a catch-up is refused (`busy`), and the subscriber is
    /// answered `recovered: false` rather than kept waiting.
    static let maxQueued = 1024
    /// A read that gets no record for this long while records remain fails (the broker went away).
    static let stallTimeoutMs: Int64 = 5000

    private let queue = Mutex<[Read]>([])
    private let wake = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private let stopping = Atomic<Bool>(false)
    private let handles: [OpaquePointer]

    init(settings: HeraldConfig.Kafka) throws(RdKafkaHandle.Problem) {
        sem_init(wake, 0, 0)
        var handles: [OpaquePointer] = []
        for index in 0..<max(1, settings.catchUpReaders) {
            let handle = try RdKafkaHandle.make(
                RD_KAFKA_CONSUMER,
                // Assigning needs a group id; never subscribing or committing, the group is never joined.
                role: [("client.id", "herald-catch-up-\(index)"),
                       ("group.id", "herald-catch-up-\(UInt64.random(in: 0...UInt64.max))"),
                       ("enable.auto.commit", "false"),
                       ("enable.auto.offset.store", "false"), ("enable.partition.eof", "true"),
                       ("auto.offset.reset", "error"),
                       // A read that ends at the log's end leaves a fetch waiting there; the next read on this
                       // connection would wait behind it for librdkafka's 500 ms.
                       ("fetch.wait.max.ms", "100")],
                brokers: settings.brokers, passthrough: settings.librdkafka)
            rd_kafka_poll_set_consumer(handle)
            handles.append(handle)
        }
        self.handles = handles
    }

    deinit {
        sem_destroy(wake)
        wake.deallocate()
    }

    var count: Int { handles.count }

    func submit(_ read: Read) {
        let accepted = queue.withLock { queue in
            guard queue.count < Self.maxQueued else { return false }
            queue.append(read)
            return true
        }
        if accepted { sem_post(wake) } else { read.completion(.failure(.busy)) }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        for _ in handles { sem_post(wake) }
    }

    /// Reader `index`'s thread body; returns after `stop()`.
    func run(reader index: Int) {
        let handle = handles[index]
        while true {
            sem_wait(wake)
            if stopping.load(ordering: .acquiring) { break }
            guard let read = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            read.completion(perform(read, on: handle))
        }
        rd_kafka_consumer_close(handle)
        rd_kafka_destroy(handle)
    }

    /// Reads from `read.from` until `read.until` or the partition's end, whichever comes first. The end
    /// is where the broker says the partition ends (EOF), not a watermark asked for beforehand.
    private func perform(_ read: Read, on handle: OpaquePointer) -> Result<Int64, KafkaFailure> {
        var low: Int64 = 0, high: Int64 = 0
        let error = rd_kafka_query_watermark_offsets(handle, read.topic, read.partition, &low, &high, 5000)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { return .failure(.kafka(RdKafkaHandle.describe(error))) }
        guard read.from >= low else { return .failure(.belowLogStart) }
        guard read.from < read.until else { return .success(read.from) }

        let list = rd_kafka_topic_partition_list_new(1)!
        rd_kafka_topic_partition_list_add(list, read.topic, read.partition).pointee.offset = read.from
        rd_kafka_assign(handle, list)
        rd_kafka_topic_partition_list_destroy(list)
        defer { rd_kafka_assign(handle, nil) }

        var next = read.from
        var lastProgress = ContinuousClock.now
        while true {
            guard let message = rd_kafka_consumer_poll(handle, 200) else {
                if ContinuousClock.now - lastProgress > .milliseconds(Self.stallTimeoutMs) {
                    return .failure(.kafka("catch-up read of \(read.topic)[\(read.partition)] stalled at \(next)"))
                }
                continue
            }
            defer { rd_kafka_message_destroy(message) }
            let error = message.pointee.err
            if error == RD_KAFKA_RESP_ERR__PARTITION_EOF { return .success(next) }
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                return .failure(error == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET
                    ? .belowLogStart : .kafka(RdKafkaHandle.describe(error)))
            }
            lastProgress = ContinuousClock.now
            let offset = message.pointee.offset
            if offset >= read.until { return .success(read.until) }
            let wanted = read.visit(RdKafkaHandle.record(message))
            next = offset + 1
            if !wanted || next == read.until { return .success(next) }
        }
    }
}
