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

    private struct State {
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
    private let routesByTopic: [String: Route]
    let settings: HeraldConfig.Kafka
    private let logger: Logger
    private let state = Mutex(State())
    private let linkBox = Mutex<KafkaLink?>(nil)
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

    /// The bridge whose template `channel` fits, if any.
    func route(for channel: String) -> Route? {
        routes.first { $0.template.fields(of: channel) != nil }
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

    private func publication(of record: KafkaRecord, _ route: Route)
        -> Result<(String, NamespaceOptions, [UInt8]), RecordProblem> {
        let channel: String
        switch route.template.channel(for: record) {
        case .success(let name): channel = name
        case .failure(let problem): return .failure(problem)
        }
        guard let (_, options) = try? node.resolve(channel: channel) else { return .failure(.badChannel) }
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
        guard !settings.deadLetterTopic.isEmpty, let link = linkBox.withLock({ $0 }) else { return }
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

    // MARK: Channels

    /// With `channel`'s stream locked: an empty stream of a channel that names its partition (by `{key}`,
    /// through the murmur2 partitioner, or by `{partition}`) takes that partition's epoch before any record
    /// of it arrives, at the tail's current offset, so that its first subscribers can recover.
    func bind(_ channel: String, _ stream: inout ChannelStream) {
        guard let route = route(for: channel), let fields = route.template.fields(of: channel) else { return }
        let topic = route.config.topic
        state.withLock { state in
            guard let count = state.partitionCounts[topic], count > 0 else { return }
            let partition = fields.partition ?? fields.key.map { Murmur2.partition(key: $0, partitions: count) }
            guard let partition, let partitionState = state.partitions[PartitionKey(topic: topic, partition: partition)],
                  stream.epoch != partitionState.epoch else { return }
            // No record of this channel up to `lastDelivered` was delivered, or the stream would be bound.
            stream.rebind(epoch: partitionState.epoch, top: UInt64(partitionState.lastDelivered + 1),
                          coveredFrom: UInt64(partitionState.coveredFrom) + 1)
        }
    }

    /// Produces a publish into a bridged channel as a record that maps back to it; `completion` gets the
    /// position once Kafka acknowledged it. Subscribers get it from the tail, like any record.
    func publish(channel: String, data: [UInt8], route: Route, completion: @escaping PublishCompletion)
        throws(ProtocolError) -> PublishAck {
        guard let link = linkBox.withLock({ $0 }) else { throw .notAvailable }
        guard let value = route.config.data.recordValue(data), let fields = route.template.fields(of: channel) else {
            throw .badRequest
        }
        let topic = route.config.topic
        link.produce(OutgoingRecord(topic: topic, partition: fields.partition, key: fields.key,
                                    headers: fields.headers, value: value)) { [weak self] outcome in
            switch outcome {
            case .success(let (partition, offset)):
                let epoch = self?.epoch(topic: topic, partition: partition)
                    ?? StreamPosition.kafkaEpoch(topic: topic, partition: partition, generation: 0)
                completion(.success(StreamPosition(offset: UInt64(offset) + 1, epoch: epoch)))
            case .failure(let failure):
                completion(.failure(ProtocolError(code: ProtocolError.internalError.code, message: "kafka: \(failure)")))
            }
        }
        return .pending
    }

    private func epoch(topic: String, partition: Int32) -> String? {
        state.withLock { $0.partitions[PartitionKey(topic: topic, partition: partition)]?.epoch }
    }

    // MARK: Catch-up

    /// With the stream locked: the channel offsets `from..<until` a recovering subscriber needs read from
    /// Kafka, because memory covers the channel only from `until` on; nil when memory is enough or the
    /// position cannot be recovered at all (another epoch, past the top: `Recovery.join` answers those).
    func catchUpRange(_ stream: ChannelStream, request: Recovery.Request) -> (from: UInt64, until: UInt64)? {
        guard request.recover, request.epoch.isEmpty || request.epoch == stream.epoch,
              request.offset <= stream.top, request.offset + 1 < stream.coveredFrom,
              partition(ofEpoch: stream.epoch) != nil else { return nil }
        return (request.offset + 1, stream.coveredFrom)
    }

    private func partition(ofEpoch epoch: String) -> PartitionKey? {
        state.withLock { state in state.partitions.first { $0.value.epoch == epoch }?.key }
    }

    /// Reads the publications of `channel` at channel offsets `from..<until` from Kafka on a catch-up
    /// reader; `completion` gets them oldest first with the channel offset the read covers through (short
    /// of `until - 1` if the partition ended first), or why not (then the subscriber is not recovered).
    func catchUp(channel: String, epoch: String, from: UInt64, until: UInt64, maxPublications: Int, maxBytes: Int,
                 completion: @escaping @Sendable (Result<(publications: [HistoryPublication], through: UInt64), KafkaFailure>) -> Void) {
        guard let key = partition(ofEpoch: epoch), let route = routesByTopic[key.topic],
              let link = linkBox.withLock({ $0 }) else { return completion(.failure(.kafka("no such partition"))) }
        guard until - from <= UInt64(settings.catchUpMaxScan) else {
            state.withLock { $0.catchUpsFailed += 1 }
            return completion(.failure(.tooFarBehind))
        }
        let collected = Mutex<(publications: [HistoryPublication], bytes: Int, overflow: Bool)>(([], 0, false))
        let now = WallClock.nowMilliseconds()
        link.read(topic: key.topic, partition: key.partition, from: Int64(from) - 1, until: Int64(until) - 1,
                  visit: { [weak self] record in
                      guard let self, case .success(let (name, _, data)) = self.publication(of: record, route),
                            name == channel else { return true }
                      return collected.withLock { collected in
                          let publication = HistoryPublication(offset: UInt64(record.offset) + 1, time: now, data: data, info: nil)
                          collected.publications.append(publication)
                          collected.bytes += publication.replyBytes
                          collected.overflow = collected.publications.count > maxPublications || collected.bytes > maxBytes
                          return !collected.overflow
                      }
                  },
                  completion: { [weak self, logger] outcome in
                      let (publications, _, overflow) = collected.withLock { $0 }
                      if case .failure(let failure) = outcome {
                          logger.debug("kafka: catch-up of \(channel) from \(key.topic)[\(key.partition)]@\(from - 1) failed: \(failure)")
                      }
                      self?.state.withLock { state in
                          if case .success = outcome, !overflow { state.catchUps += 1 } else { state.catchUpsFailed += 1 }
                      }
                      switch outcome {
                      case .success where overflow: completion(.failure(.tooFarBehind))
                      // Kafka offset `next` is channel offset `next + 1`: covered through `next`.
                      case .success(let next): completion(.success((publications, UInt64(next))))
                      case .failure(let failure): completion(.failure(failure))
                      }
                  })
    }

    // MARK: Status

    public struct Status: Sendable {
        public struct Partition: Sendable {
            public let topic: String
            public let partition: Int32
            public let epoch: String
            /// The next offset the tail will deliver.
            public let position: Int64
            /// Records in Kafka the tail has not delivered yet; -1 until the broker told the end offset.
            public let lag: Int64
        }

        public let connected: Bool
        public let detail: String
        public let records: Int
        public let skipped: [String: Int]
        /// Subscribers caught up from Kafka, and catch-ups that could not be served (not recovered).
        public let catchUps: Int
        public let catchUpsFailed: Int
        public let partitions: [Partition]
    }

    public func status() -> Status {
        state.withLock { state in
            let partitions = state.partitions.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }
                .map { key, value in
                    Status.Partition(topic: key.topic, partition: key.partition, epoch: value.epoch,
                                     position: value.lastDelivered + 1,
                                     lag: value.highWatermark < 0 ? -1 : max(0, value.highWatermark - value.lastDelivered - 1))
                }
            let skipped = Dictionary(uniqueKeysWithValues: state.problems.map { ("\($0.key)", $0.value) })
            return Status(connected: state.connected, detail: state.detail, records: state.records, skipped: skipped,
                          catchUps: state.catchUps, catchUpsFailed: state.catchUpsFailed, partitions: partitions)
        }
    }
}
