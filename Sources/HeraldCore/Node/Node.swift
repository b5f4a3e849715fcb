import Logging
import Synchronization

/// The state one Herald process shares across its event loops: configuration, which loops subscribe to
/// what, presence, and the publish path. Publishing frames a publication once and posts that one frame to
/// each loop that has subscribers of the channel.
public final class Node: Sendable {
    public let config: HeraldConfig
    public let version: String
    public let name: String
    let sessionSettings: SessionSettings
    let channels: ChannelRegistry
    let presence: PresenceRegistry
    let history: HistoryStore
    /// Writes durable namespaces' publications to the log; nil when no log was given.
    public let durableWriter: DurableWriter?
    /// Tails Kafka topics into channels and produces publishes into them; nil without `kafka.bridges`.
    public let bridge: KafkaBridge?
    /// Refused tokens and limits hit, by kind.
    public let refusals: RefusalCounter
    public let metrics: NodeMetrics
    /// What each loop last counted of its outgoing queues and data streams, for the metrics.
    let loopTotals: [LoopTotals]
    private let users = Mutex<[String: Int]>([:])
    private let inboxes: [LoopInbox]
    private let startedAt = ContinuousClock.now

    /// `wakers[i]` interrupts loop `i`'s wait for events; one loop is created per waker. `log` keeps the
    /// history of durable namespaces; without one they are kept in memory only. `tokens` checks connection
    /// and subscription tokens (HeraldAuth builds it from the configuration).
    public init(config: HeraldConfig, version: String, name: String, wakers: [@Sendable () -> Void],
                log: PublicationLog? = nil, bridge: KafkaBridge? = nil, tokens: TokenAuthority = .none,
                logger: Logger? = nil) {
        self.config = config
        self.version = version
        self.name = name
        sessionSettings = SessionSettings(config: config, tokens: tokens)
        metrics = NodeMetrics(version: version)
        refusals = RefusalCounter(logger: logger)
        loopTotals = wakers.map { _ in LoopTotals() }
        channels = ChannelRegistry(loopCount: wakers.count)
        presence = PresenceRegistry()
        inboxes = wakers.map { LoopInbox(wake: $0) }
        durableWriter = log.map { DurableWriter(log: $0) }
        history = HistoryStore(firstEpoch: Self.firstEpoch(config: config, epochSeed: log?.epochSeed))
        self.bridge = bridge
        durableWriter?.node = self
        bridge?.node = self
    }

    /// One context per loop, to be used on that loop's thread only.
    public func makeLoopContexts() -> [LoopContext] {
        inboxes.enumerated().map {
            LoopContext(index: $0.offset, node: self, inbox: $0.element, totals: loopTotals[$0.offset])
        }
    }

    /// A channel's first epoch: random in memory (a restart loses the history, so positions from before must
    /// not match), derived from the durable log's seed in a durable namespace (the log keeps the history, so
    /// a position given out before the channel's first publication still matches after a restart).
    private static func firstEpoch(config: HeraldConfig, epochSeed: String?) -> @Sendable (String) -> String {
        { channel in
            guard let epochSeed,
                  let name = try? ChannelName(channel, maxLength: config.channel.maxLength,
                                              privatePrefix: config.channel.privatePrefix),
                  let options = config.namespace(named: name.namespace), options.durable != .none
            else { return StreamPosition.newEpoch() }
            return StreamPosition.derivedEpoch(from: "\(epochSeed)/\(channel)")
        }
    }

    // MARK: Publishing

    /// Checks a channel name against the limits and namespaces of the configuration.
    public func resolve(channel: String) throws(ProtocolError) -> (ChannelName, NamespaceOptions) {
        let name: ChannelName
        do {
            name = try ChannelName(channel, maxLength: config.channel.maxLength,
                                   privatePrefix: config.channel.privatePrefix)
        } catch .tooLong {
            throw .limitExceeded
        } catch {
            throw .badRequest
        }
        guard let options = config.namespace(named: name.namespace) else { throw .unknownChannel }
        return (name, options)
    }

    /// Publishes `data` (valid JSON) to `channel`. `info` is the publishing client, if a client published.
    /// In a namespace with history the publication gets the next offset of the channel's stream; in a
    /// durable one it is acknowledged (and delivered) only once the durable log has it: then the answer is
    /// `.pending` and `whenDurable` gets the outcome later, on the log's thread.
    public func publish(channel: String, data: [UInt8], info: ClientInfo? = nil,
                        whenDurable: @escaping PublishCompletion = { _ in }) throws(ProtocolError) -> PublishAck {
        let (_, options) = try resolve(channel: channel)
        (info == nil ? metrics.publishedByAPI : metrics.publishedByClient).increment()
        let data = Self.singleLine(data)
        if let bridge, let route = bridge.route(for: channel) {
            return try bridge.publish(channel: channel, data: data, route: route, completion: whenDurable)
        }
        guard options.hasHistory else {
            deliverWithoutPosition(channel, data: data, info: info)
            return .done(nil)
        }
        if options.durable != .none, let durableWriter {
            try durableWriter.enqueue(.publish(channel: channel, data: data, info: info, options: options,
                                           completion: whenDurable))
            return .pending
        }
        let position = history.entry(channel).stream.withLock { stream in
            let publication = HistoryPublication(offset: stream.top + 1, time: WallClock.nowMilliseconds(),
                                                 data: data, info: info)
            appendAndDeliver(channel, publication, options, to: &stream)
            return stream.position
        }
        return .done(position)
    }

    /// A publication of a channel without history: one frame, no offset.
    private func deliverWithoutPosition(_ channel: String, data: [UInt8], info: ClientInfo?) {
        var writer = JSONWriter(capacity: data.count + channel.utf8.count + 64)
        ReplyEncoder.publicationPush(channel: channel, publication: .init(data: data, info: info), into: &writer)
        deliver(channel: channel, frame: Frame(text: writer.bytes), audience: .subscribers) { hasDataSubscribers in
            hasDataSubscribers ? PublicationSource(channel: channel, offset: 0, epoch: "", data: data, info: info) : nil
        }
    }

    /// With `stream` (the channel's) locked: keeps `publication` in history and posts it to the loops, so
    /// offsets reach every loop in order and a joining subscriber gets it exactly once.
    func appendAndDeliver(_ channel: String, _ publication: HistoryPublication, _ options: NamespaceOptions,
                          to stream: inout ChannelStream) {
        // The base of a delta is the channel's previous publication, if history still has it.
        let previous = options.allowsFossilDelta ? stream.latest : nil
        stream.append(publication, limits: HistoryLimits(options))
        var writer = JSONWriter(capacity: publication.data.count + channel.utf8.count + 80)
        ReplyEncoder.publicationPush(
            channel: channel,
            publication: .init(data: publication.data, offset: publication.offset, info: publication.info),
            into: &writer)
        let epoch = stream.epoch
        deliver(channel: channel, frame: Frame(text: writer.bytes), audience: .subscribers) { hasDataSubscribers in
            options.allowsFossilDelta || hasDataSubscribers
                ? PublicationSource(channel: channel, offset: publication.offset, epoch: epoch, data: publication.data,
                                    previous: previous, info: publication.info)
                : nil
        }
    }

    /// Publishes a record tailed from Kafka: its position is Kafka's (`offset`, `epoch`), and a stream
    /// of another partition's epoch is rebound to this one, knowing the channel from `coveredFrom` on.
    func deliverBridged(channel: String, options: NamespaceOptions, data: [UInt8], offset: UInt64, epoch: String,
                        coveredFrom: UInt64) {
        metrics.publishedFromKafka.increment()
        guard options.hasHistory else { return deliverWithoutPosition(channel, data: data, info: nil) }
        history.entry(channel).stream.withLock { stream in
            if stream.epoch != epoch { stream.rebind(epoch: epoch, top: coveredFrom - 1, coveredFrom: coveredFrom) }
            guard offset > stream.top else { return }
            let publication = HistoryPublication(offset: offset, time: WallClock.nowMilliseconds(), data: data, info: nil)
            appendAndDeliver(channel, publication, options, to: &stream)
        }
    }

    /// Pushes share frames one per line, so a pretty-printed payload's line breaks would split it for the
    /// SDKs. In valid JSON a CR or LF can only be whitespace between tokens (inside strings it must be
    /// escaped), so each becomes a space: every other byte passes through as published.
    static func singleLine(_ data: [UInt8]) -> [UInt8] {
        guard data.contains(where: { $0 == 0x0A || $0 == 0x0D }) else { return data }
        return data.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
    }

    /// Posts `frame` to each loop with subscribers of `channel`. `source` makes, once, what delta and data-stream
    /// subscribers get instead (told whether the channel has data-stream subscribers); nil when none need it.
    func deliver(channel: String, frame: Frame, audience: LoopEvent.Audience,
                 source makeSource: (_ hasDataSubscribers: Bool) -> PublicationSource? = { _ in nil }) {
        channels.withSubscribers(of: channel) { loops, hasDataSubscribers in
            let source = makeSource(hasDataSubscribers)
            for (loop, count) in loops.enumerated() where count > 0 {
                inboxes[loop].post(.deliver(channel: channel, frame: frame, audience: audience, source: source))
            }
        }
    }

    // MARK: Server-side control

    public func unsubscribe(user: String, client: String?, channel: String) {
        for inbox in inboxes { inbox.post(.unsubscribe(channel: channel, user: user, client: client)) }
    }

    public func disconnect(user: String, client: String?, _ disconnect: Disconnect = .forceNoReconnect) {
        for inbox in inboxes { inbox.post(.disconnect(user: user, client: client, disconnect)) }
    }

    // MARK: Presence and statistics

    public func presenceClients(of channel: String) -> [ClientInfo] { presence.clients(in: channel) }
    public func presenceStats(of channel: String) -> PresenceStats { presence.stats(of: channel) }

    /// Subscriber counts by channel, node-wide.
    public func channelCounts() -> [String: Int] { channels.snapshot() }

    func userConnected(_ user: String) { users.withLock { $0[user, default: 0] += 1 } }

    func userDisconnected(_ user: String) {
        users.withLock { map in
            map[user, default: 0] -= 1
            if map[user]! <= 0 { map[user] = nil }
        }
    }

    /// Bytes and frames queued for clients, and open data streams, over every loop as of the loops' last ticks.
    func summedLoopTotals() -> (bytes: Int, frames: Int, dataStreams: Int) {
        loopTotals.reduce((0, 0, 0)) {
            ($0.0 + $1.bytes.load(ordering: .relaxed), $0.1 + $1.frames.load(ordering: .relaxed),
             $0.2 + $1.dataStreams.load(ordering: .relaxed))
        }
    }

    /// The metrics in their exporter's format, their gauges of state set first.
    public func scrapeMetrics(_ emit: () -> [UInt8]) -> [UInt8] {
        metrics.refresh(self)
        if let size = durableWriter?.logByteSize { metrics.durableLogBytes.record(size) }
        return emit()
    }

    public struct Info: Sendable {
        public let numClients: Int
        public let numUsers: Int
        public let numChannels: Int
        public let numSubscriptions: Int
        public let uptimeSeconds: Int
    }

    public func info() -> Info {
        let (clients, distinctUsers) = users.withLock { map in (map.values.reduce(0, +), map.count) }
        let counts = channels.snapshot()
        let uptime = ContinuousClock.now - startedAt
        return Info(numClients: clients, numUsers: distinctUsers, numChannels: counts.count,
                    numSubscriptions: counts.values.reduce(0, +), uptimeSeconds: Int(uptime.components.seconds))
    }
}
