import CRdKafka
import HeraldCore
import Synchronization

/// Produces records for publishes into bridged channels (and dead-letter copies): idempotent, acknowledged
/// by every in-sync replica, partitioned by murmur2 like Kafka's Java producer. A thread serves delivery
/// reports, which carry each record's completion.
final class KafkaProducer: Sendable {
    typealias Completion = @Sendable (Result<(partition: Int32, offset: Int64), KafkaFailure>) -> Void

    private final class Pending {
        let completion: Completion
        init(_ completion: @escaping Completion) { self.completion = completion }
    }

    nonisolated(unsafe) private let handle: OpaquePointer
    private let stopping = Atomic<Bool>(false)

    init(settings: HeraldConfig.Kafka) throws(RdKafkaHandle.Problem) {
        handle = try RdKafkaHandle.make(
            RD_KAFKA_PRODUCER,
            role: [("client.id", "herald-producer"), ("enable.idempotence", "true"), ("acks", "all"),
                   ("partitioner", "murmur2_random"), ("linger.ms", "1"),
                   // A publish is answered within 10 s, delivered or not, rather than librdkafka's 300 s.
                   ("message.timeout.ms", "10000")],
            brokers: settings.brokers, passthrough: settings.librdkafka,
            configure: { conf in
                rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                    guard let message, let opaque = message.pointee._private else { return }
                    let pending = Unmanaged<Pending>.fromOpaque(opaque).takeRetainedValue()
                    let error = message.pointee.err
                    if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                        pending.completion(.success((message.pointee.partition, message.pointee.offset)))
                    } else {
                        pending.completion(.failure(.kafka(RdKafkaHandle.describe(error))))
                    }
                }
            })
    }

    func produce(_ record: OutgoingRecord, completion: @escaping Completion) {
        var headers: OpaquePointer?
        if !record.headers.isEmpty {
            headers = rd_kafka_headers_new(record.headers.count)
            for (name, value) in record.headers {
                _ = value.withUnsafeBytes { rd_kafka_header_add(headers, name, -1, $0.baseAddress, $0.count) }
            }
        }
        let pending = Unmanaged.passRetained(Pending(completion)).toOpaque()
        let key = record.key ?? []
        let error = record.value.withUnsafeBytes { value in
            key.withUnsafeBytes { keyBytes in
                herald_rdkafka_produce(handle, record.topic, record.partition ?? herald_rdkafka_partition_unassigned,
                                       record.key == nil ? nil : keyBytes.baseAddress, keyBytes.count,
                                       value.baseAddress, value.count, headers, pending)
            }
        }
        guard error != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        if let headers { rd_kafka_headers_destroy(headers) }
        Unmanaged<Pending>.fromOpaque(pending).release()
        completion(.failure(error == RD_KAFKA_RESP_ERR__QUEUE_FULL ? .busy : .kafka(RdKafkaHandle.describe(error))))
    }

    func stop() { stopping.store(true, ordering: .releasing) }

    /// The thread's body: serves delivery reports; after `stop()`, waits up to 5 s for records in flight.
    func run() {
        while !stopping.load(ordering: .acquiring) {
            rd_kafka_poll(handle, 100)
        }
        rd_kafka_flush(handle, 5000)
        rd_kafka_destroy(handle)
    }
}
