import Logging
import Synchronization

/// The node's side of the Kafka bridges: turns tailed records into publications of their channels, with
/// positions taken from Kafka (offset + 1 in the record's partition, epoch from topic and partition), so
/// every node gives a record the same position; and turns publishes into bridged channels into records.
public final class KafkaBridge: KafkaTailSink {
    struct Route: Sendable {
        let config: KafkaBridgeConfig
        let template: ChannelTemplate
    }

    /// A channel one of the bridges' templates produces, and the record fields it maps back to.
    struct ChannelRoute {
        let bridge: Route
        let fields: ChannelTemplate.Fields
    }

    struct PartitionKey: Hashable, Sendable {
        let topic: String
        let partition: Int32
    }

    /// One partition as this node's tail sees it. Offsets here are Kafka's.
    struct PartitionState: Sendable {
        var generation = 0
        var epoch: String
        /// The tail has delivered every record of the partition from here on.
        var coveredFrom: Int64
        var lastDelivered: Int64
        var highWatermark: Int64 = -1
    }

    struct State {
        var partitions: [PartitionKey: PartitionState] = [:]
        var partitionCounts: [String: Int32] = [:]
        var connected = false
        var detail = "connecting"
        var problems: [RecordProblem: Int] = [:]
        var records = 0
        var catchUps = 0
        var catchUpsFailed = 0
    }

    let routes: [Route]
    let routesByTopic: [String: Route]
    let settings: HeraldConfig.Kafka
    let logger: Logger
    let state = Mutex(State())
    private let linkBox = Mutex<KafkaLink?>(nil)
    var link: KafkaLink? { linkBox.withLock { $0 } }
    /// Set once by `Node.init`; the node outlives the bridge's threads.
    nonisolated(unsafe) unowned(unsafe) var node: Node!

    public init(settings: HeraldConfig.Kafka, logger: Logger) throws(ConfigError) {
        self.settings = settings
        self.logger = logger
        var routes: [Route] = []
        for (index, bridge) in settings.bridges.enumerated() {
            do {
                routes.append(Route(config: bridge, template: try ChannelTemplate(bridge.channel, topic: bridge.topic)))
            } catch {
                throw ConfigError("kafka.bridges[\(index)].channel", "invalid template \"\(bridge.channel)\": \(error.reason)")
            }
        }
        self.routes = routes
        routesByTopic = Dictionary(routes.map { ($0.config.topic, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Connects the bridge to Kafka; before this, publishes into bridged channels are refused.
    public func attach(_ link: KafkaLink) { linkBox.withLock { $0 = link } }

    public var topics: [(name: String, start: BridgeStart)] { routes.map { ($0.config.topic, $0.config.start) } }

    /// The bridge whose template `channel` fits, if any, with the fields it maps back to: matched once per
    /// publish or join.
    func route(for channel: String) -> ChannelRoute? {
        for route in routes {
            if let fields = route.template.fields(of: channel) { return ChannelRoute(bridge: route, fields: fields) }
        }
        return nil
    }

    // MARK: The tail

    public func resumeOffset(topic: String, partition: Int32) -> Int64? {
        state.withLock { $0.partitions[PartitionKey(topic: topic, partition: partition)].map { $0.lastDelivered + 1 } }
    }

    public func started(topic: String, partition: Int32, from: Int64) {
        state.withLock { state in
            state.partitionCounts[topic] = max(state.partitionCounts[topic] ?? 0, partition + 1)
            let key = PartitionKey(topic: topic, partition: partition)
            guard state.partitions[key] == nil else { return }
            state.partitions[key] = PartitionState(
                epoch: StreamPosition.kafkaEpoch(topic: topic, partition: partition, generation: 0),
                coveredFrom: from, lastDelivered: from - 1)
        }
    }

    public func highWatermark(topic: String, partition: Int32, _ offset: Int64) {
        state.withLock { $0.partitions[PartitionKey(topic: topic, partition: partition)]?.highWatermark = offset }
    }

    public func connection(ok: Bool, detail: String) {
        let changed = state.withLock { state -> Bool in
            defer { (state.connected, state.detail) = (ok, detail) }
            return state.connected != ok
        }
        if changed {
            if ok { logger.info("kafka: connected") } else { logger.warning("kafka: degraded: \(detail)") }
        }
    }

    /// Publishes one tailed record to its channel. Called on the tail's thread, in offset order per
    /// partition. Kafka never gives an offset twice, and librdkafka never hands a record over twice, so a
    /// record at or below the last one delivered means the partition's log started over (the topic was
    /// recreated, or the broker lost data and the tail reset to its start): the partition gets a new
    /// epoch, and positions from before are refused rather than misread.
    public func receive(_ record: KafkaRecord) {
        guard let route = routesByTopic[record.topic] else { return }
        let key = PartitionKey(topic: record.topic, partition: record.partition)
        let (found, startedOver) = state.withLock { state -> (PartitionState?, Bool) in
            guard var partition = state.partitions[key] else { return (nil, false) }
            guard record.offset <= partition.lastDelivered else { return (partition, false) }
            partition.generation += 1
            partition.epoch = StreamPosition.kafkaEpoch(topic: key.topic, partition: key.partition,
                                                        generation: partition.generation)
            partition.coveredFrom = record.offset
            partition.lastDelivered = record.offset - 1
            state.partitions[key] = partition
            return (partition, true)
        }
        guard let partition = found else { return }
        if startedOver {
            logger.warning("kafka: \(key.topic)[\(key.partition)] started over at offset \(record.offset): new epoch \(partition.epoch)")
        }
        // Recorded after delivery: a subscriber binding to the partition meanwhile sees the channel's
        // records either delivered or still to come, never skipped (see `bind`).
        defer {
            state.withLock { state in
                state.partitions[key]?.lastDelivered = record.offset
                state.records += 1
            }
        }
        switch publication(of: record, route) {
        case .success(let (channel, options, data)):
            node.deliverBridged(channel: channel, options: options, data: data, offset: UInt64(record.offset) + 1,
                                epoch: partition.epoch, coveredFrom: UInt64(partition.coveredFrom) + 1)
        case .failure(let problem):
            reject(record, problem)
        }
    }

    func publication(of record: KafkaRecord, _ route: Route)
        -> Result<(String, NamespaceOptions, [UInt8]), RecordProblem> {
        let channel: String
        switch route.template.channel(for: record) {
        case .success(let name): channel = name
        case .failure(let problem): return .failure(problem)
        }
        // A durable namespace keeps its own log; a bridged channel's log is Kafka.
        guard let (_, options) = try? node.resolve(channel: channel), options.durable == .none else {
            return .failure(.badChannel)
        }
        guard let value = record.value else { return .failure(.noValue) }
        return route.config.data.publicationData(value).map { (channel, options, Node.singleLine($0)) }
    }

    /// Counts a record that cannot be published, logs the first of each kind, and copies it to the
    /// dead-letter topic when there is one. The partition goes on.
    private func reject(_ record: KafkaRecord, _ problem: RecordProblem) {
        let first = state.withLock { state in
            state.problems[problem, default: 0] += 1
            return state.problems[problem] == 1
        }
        if first {
            logger.warning("kafka: skipping \(record.topic)[\(record.partition)]@\(record.offset): \(problem.rawValue) (logged once, counted in /api/info)")
        }
        guard !settings.deadLetterTopic.isEmpty, let link else { return }
        let copy = OutgoingRecord(
            topic: settings.deadLetterTopic, partition: nil, key: record.key,
            headers: record.headers + [("herald-error", Array(problem.rawValue.utf8)),
                                       ("herald-source", Array("\(record.topic)/\(record.partition)/\(record.offset)".utf8))],
            value: record.value ?? [])
        let logger = logger
        link.produce(copy) { outcome in
            if case .failure(let failure) = outcome {
                logger.error("kafka: dead-letter copy of \(record.topic)[\(record.partition)]@\(record.offset) failed: \(failure)")
            }
        }
    }
}
