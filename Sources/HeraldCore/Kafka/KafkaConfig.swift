extension HeraldConfig {
    /// `kafka` (Herald): bridges from Kafka topics into channels; off while `bridges` is empty.
    public struct Kafka: Sendable, Equatable {
        /// `brokers`: bootstrap servers, "host:port".
        public var brokers: [String] = []
        /// `librdkafka`: librdkafka properties passed through as given (`security.protocol`, `sasl.*`, ...);
        /// they win over Herald's own settings.
        public var librdkafka: [String: String] = [:]
        /// `bridges`: one per topic.
        public var bridges: [KafkaBridgeConfig] = []
        /// `dead_letter_topic`: "" skips a record that cannot be mapped or decoded (it is counted and logged);
        /// a topic name also copies it there, with a `herald-error` header saying why.
        public var deadLetterTopic = ""
        /// `catch_up_readers`: 2 threads, each with its own connection, that read Kafka for subscribers whose
        /// position is older than what memory keeps.
        public var catchUpReaders = 2
        /// `catch_up_max_scan`: 1,000,000 records of a partition read for one catch-up at most; a position
        /// further back answers `recovered: false`.
        public var catchUpMaxScan = 1_000_000

        public var enabled: Bool { !bridges.isEmpty }
    }
}

/// One `kafka.bridges` entry: a topic and how its records become publications.
public struct KafkaBridgeConfig: Sendable, Equatable {
    /// `topic`.
    public var topic = ""
    /// `channel`: a template over `{topic}`, `{partition}`, `{key}` and `{header:NAME}`, e.g. "orders:{key}".
    public var channel = ""
    /// `data`: how a record's value becomes publication data.
    public var data = RecordDataFormat.json
    /// `start`: where a node starts reading: `latest` (only new records) or `earliest`.
    public var start = BridgeStart.latest

    public init(topic: String = "", channel: String = "", data: RecordDataFormat = .json, start: BridgeStart = .latest) {
        self.topic = topic
        self.channel = channel
        self.data = data
        self.start = start
    }
}

public enum BridgeStart: String, Sendable, Equatable, CaseIterable {
    case latest, earliest
}
