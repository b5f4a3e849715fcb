import CRdKafka
import Glibc
import HeraldCore
import Logging
import Synchronization

/// Watches the bridged topics for the tail, on a connection of its own (a metadata request on the tail's
/// connection would wait behind its fetches): every few seconds it checks that the brokers answer, assigns
/// partitions not assigned yet (at start, and partitions or topics added later), reports end offsets for
/// lag, and after an outage rewinds partitions whose log started over.
final class TailWatch: Sendable {
    private let tail: KafkaTail
    private let sink: KafkaTailSink
    private let logger: Logger
    private let topics: [(name: String, start: BridgeStart)]
    /// For metadata and end-offset queries only; used on the watch's thread.
    nonisolated(unsafe) private let handle: OpaquePointer

    init(settings: HeraldConfig.Kafka, topics: [(name: String, start: BridgeStart)], tail: KafkaTail,
         sink: KafkaTailSink, logger: Logger) throws(RdKafkaHandle.Problem) {
        self.tail = tail
        self.sink = sink
        self.logger = logger
        self.topics = topics
        handle = try RdKafkaHandle.make(RD_KAFKA_CONSUMER, role: [("client.id", "herald-watch")],
                                        brokers: settings.brokers, passthrough: settings.librdkafka)
    }

    /// The thread's body; returns once the tail is stopping.
    func run() {
        var assigned: [String: Int32] = [:]
        var healthy = false
        var everHealthy = false
        var nextCheck = ContinuousClock.now
        var nextWatermarks = ContinuousClock.now
        while !tail.stopping.load(ordering: .acquiring) {
            let now = ContinuousClock.now
            if now >= nextCheck {
                let outage = everHealthy && (!healthy || tail.brokersLost.exchange(false, ordering: .acquiringAndReleasing))
                healthy = checkMetadata(&assigned, rewind: outage)
                everHealthy = everHealthy || healthy
                nextCheck = now + .seconds(healthy ? 2 : 1)
            }
            if now >= nextWatermarks {
                reportWatermarks(assigned)
                nextWatermarks = now + .seconds(1)
            }
            usleep(50_000)
        }
    }

    func close() { rd_kafka_destroy(handle) }

    /// Fetches each topic's metadata; assigns partitions not assigned yet, at the offset the bridge resumes
    /// from or the bridge's `start`; after an outage (`rewind`), rewinds partitions that started over,
    /// before saying the bridge is connected. Returns whether every topic was found.
    private func checkMetadata(_ assigned: inout [String: Int32], rewind: Bool) -> Bool {
        for (topic, start) in topics {
            let count: Int32
            switch partitionCount(topic) {
            case .success(let found): count = found
            case .failure(let problem):
                sink.connection(ok: false, detail: problem.description)
                return false
            }
            let known = assigned[topic] ?? 0
            guard count > known else { continue }
            let list = rd_kafka_topic_partition_list_new(count - known)!
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for partition in known..<count {
                let from: Int64
                if let resume = sink.resumeOffset(topic: topic, partition: partition) {
                    from = resume
                } else {
                    var low: Int64 = 0, high: Int64 = 0
                    let error = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, 5000)
                    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                        sink.connection(ok: false, detail: "\(topic)[\(partition)]: \(RdKafkaHandle.describe(error))")
                        return false
                    }
                    from = start == .earliest ? low : high
                }
                rd_kafka_topic_partition_list_add(list, topic, partition).pointee.offset = from
                sink.started(topic: topic, partition: partition, from: from)
            }
            if let error = rd_kafka_incremental_assign(tail.handle, list) {
                sink.connection(ok: false, detail: "assign \(topic): \(String(cString: rd_kafka_error_string(error)))")
                rd_kafka_error_destroy(error)
                return false
            }
            assigned[topic] = count
        }
        if rewind { rewindStartedOverPartitions(assigned) }
        sink.connection(ok: true, detail: "connected")
        return true
    }

    private func partitionCount(_ topic: String) -> Result<Int32, RdKafkaHandle.Problem> {
        guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else {
            return .failure(.init(description: "topic \(topic): \(RdKafkaHandle.describe(rd_kafka_last_error()))"))
        }
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(handle, 0, topicHandle, &metadata, 2000)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            return .failure(.init(description: "metadata: \(RdKafkaHandle.describe(error))"))
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt > 0 else { return .failure(.init(description: "topic \(topic) not found")) }
        let found = metadata.pointee.topics[0]
        guard found.err == RD_KAFKA_RESP_ERR_NO_ERROR, found.partition_cnt > 0 else {
            return .failure(.init(description: "topic \(topic): \(RdKafkaHandle.describe(found.err))"))
        }
        return .success(found.partition_cnt)
    }

    /// After the brokers were out of reach: a partition whose log now ends before the tail's position
    /// started over (topic recreated, data lost). The tail goes back to its start, where the bridge sees
    /// offsets it delivered before and gives the partition a new epoch (`KafkaBridge.receive`). Without
    /// this, a new log that already grew past nothing but not past the old position would be skipped.
    private func rewindStartedOverPartitions(_ assigned: [String: Int32]) {
        for (topic, count) in assigned {
            for partition in 0..<count {
                guard let position = sink.resumeOffset(topic: topic, partition: partition) else { continue }
                var low: Int64 = 0, high: Int64 = 0
                let error = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, 5000)
                logger.debug("kafka: \(topic)[\(partition)] after reconnecting: \(RdKafkaHandle.describe(error)), offsets \(low)..<\(high), tail at \(position)")
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR, high < position else { continue }
                logger.warning("kafka: \(topic)[\(partition)] now ends at \(high), before the tail's position \(position): reading it again from \(low)")
                let list = rd_kafka_topic_partition_list_new(1)!
                rd_kafka_topic_partition_list_add(list, topic, partition).pointee.offset = low
                if let error = rd_kafka_seek_partitions(tail.handle, list, 5000) {
                    logger.error("kafka: seek \(topic)[\(partition)] to \(low): \(String(cString: rd_kafka_error_string(error)))")
                    rd_kafka_error_destroy(error)
                }
                rd_kafka_topic_partition_list_destroy(list)
            }
        }
    }

    /// End offsets as the last fetches saw them (cached by librdkafka: no broker round trip).
    private func reportWatermarks(_ assigned: [String: Int32]) {
        for (topic, count) in assigned {
            for partition in 0..<count {
                var low: Int64 = 0, high: Int64 = 0
                if rd_kafka_get_watermark_offsets(tail.handle, topic, partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                   high >= 0 {
                    sink.highWatermark(topic: topic, partition: partition, high)
                }
            }
        }
    }
}
