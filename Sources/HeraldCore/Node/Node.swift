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
    private let users = Mutex<[String: Int]>([:])
    private let inboxes: [LoopInbox]
    private let startedAt = ContinuousClock.now

    /// `wakers[i]` interrupts loop `i`'s wait for events; one loop is created per waker.
    public init(config: HeraldConfig, version: String, name: String, wakers: [@Sendable () -> Void]) {
        self.config = config
        self.version = version
        self.name = name
        sessionSettings = SessionSettings(config: config)
        channels = ChannelRegistry(loopCount: wakers.count)
        presence = PresenceRegistry()
        inboxes = wakers.map { LoopInbox(wake: $0) }
    }

    /// One context per loop, to be used on that loop's thread only.
    public func makeLoopContexts() -> [LoopContext] {
        inboxes.enumerated().map { LoopContext(index: $0.offset, node: self, inbox: $0.element) }
    }

    // MARK: Publishing

    /// Checks a channel name against the limits and namespaces of the configuration.
    public func resolve(channel: String) throws(ProtocolError) -> (ChannelName, NamespaceOptions) {
        let name: ChannelName
        do {
            name = try ChannelName(channel, maxLength: config.channel.maxLength)
        } catch .tooLong {
            throw .limitExceeded
        } catch {
            throw .badRequest
        }
        guard let options = config.namespace(named: name.namespace) else { throw .unknownChannel }
        return (name, options)
    }

    /// Publishes `data` (valid JSON) to `channel`. `info` is the publishing client, if a client published.
    public func publish(channel: String, data: [UInt8], info: ClientInfo? = nil) throws(ProtocolError) {
        _ = try resolve(channel: channel)
        var writer = JSONWriter(capacity: data.count + channel.utf8.count + 64)
        ReplyEncoder.publicationPush(channel: channel, data: Self.singleLine(data), info: info, into: &writer)
        deliver(channel: channel, frame: Frame(text: writer.bytes), audience: .subscribers)
    }

    /// Pushes share frames one per line, so a pretty-printed payload's line breaks would split it for the
    /// SDKs. In valid JSON a CR or LF can only be whitespace between tokens (inside strings it must be
    /// escaped), so each becomes a space: every other byte passes through as published.
    static func singleLine(_ data: [UInt8]) -> [UInt8] {
        guard data.contains(where: { $0 == 0x0A || $0 == 0x0D }) else { return data }
        return data.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
    }

    func deliver(channel: String, frame: Frame, audience: LoopEvent.Audience) {
        channels.forEachSubscribedLoop(of: channel) { loop in
            inboxes[loop].post(.deliver(channel: channel, frame: frame, audience: audience))
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
