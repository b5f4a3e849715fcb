/// What the bridge asks of Kafka, implemented by HeraldKafka (which owns every librdkafka call).
public protocol KafkaLink: AnyObject, Sendable {
    /// Produces `record`; `completion` gets its partition and offset once every in-sync replica has it.
    func produce(_ record: OutgoingRecord,
                 completion: @escaping @Sendable (Result<(partition: Int32, offset: Int64), KafkaFailure>) -> Void)

    /// Reads `partition` of `topic` from offset `from` up to `until` (exclusive) on a catch-up reader,
    /// handing each record to `visit` (false stops the read), then gives `completion` the offset after the
    /// last record read: `until` when the read got there, less when it stopped or the partition ended first.
    func read(topic: String, partition: Int32, from: Int64, until: Int64,
              visit: @escaping @Sendable (KafkaRecord) -> Bool,
              completion: @escaping @Sendable (Result<Int64, KafkaFailure>) -> Void)
}

public enum KafkaFailure: Error, Sendable, Equatable {
    /// The offset asked for is below the partition's log start: Kafka no longer has it.
    case belowLogStart
    /// Every catch-up reader is busy and the queue is full.
    case busy
    /// Further back than a catch-up may go: more records to read than `kafka.catch_up_max_scan`, or more
    /// publications than a recovery may carry.
    case tooFarBehind
    /// The broker refused or could not be reached; librdkafka's words.
    case kafka(String)
}

/// The tail consumer's view of the bridge: where to start each partition, and what it reads.
public protocol KafkaTailSink: AnyObject, Sendable {
    /// Where a newly assigned partition starts: after what this node delivered, or nil for the bridge's `start`.
    func resumeOffset(topic: String, partition: Int32) -> Int64?
    /// The tail starts `partition` at offset `from` (resolved: never "latest" or "earliest").
    func started(topic: String, partition: Int32, from: Int64)
    func receive(_ record: KafkaRecord)
    /// Latest end offset known for the partition, for lag.
    func highWatermark(topic: String, partition: Int32, _ offset: Int64)
    /// Whether the tail reaches the brokers, with librdkafka's reason when not.
    func connection(ok: Bool, detail: String)
}
