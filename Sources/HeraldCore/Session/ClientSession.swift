/// One client connection speaking the Centrifuge protocol: decodes its commands, checks permissions,
/// subscribes it in its loop's channel index, and answers. Runs on its loop's thread only.
///
/// Replies to the commands of one WebSocket message go out together in one frame, newline-separated, in
/// command order. A protocol violation closes the connection with the protocol's disconnect code.
public final class ClientSession {
    public let clientID = ClientID.make()
    public private(set) var user = ""
    /// Connected with an admin console token: may subscribe to any channel. Publishing, presence and history
    /// follow the namespace's rules as for an anonymous connection: the console publishes through the API.
    var isAdmin = false
    /// The connection token's `info`, shown to others as `conn_info`.
    var connInfo: [UInt8]?
    /// When the connection's token runs out (monotonic, grace included): closed with 3005 unless refreshed.
    var expiryDeadline: Milliseconds?
    /// The earliest subscription expiry deadline, so ticks look through subscriptions only when one is due.
    var nextSubscriptionExpiry: Milliseconds?
    unowned let loop: LoopContext
    /// `unowned(unsafe)`: the fan-out loop touches it once per subscriber per publication, and checked
    /// `unowned` would add a retain/release each time. Safe because the transport connection owns this
    /// session and calls `closed()` (which takes it out of every index) before it goes away.
    unowned(unsafe) let output: SessionOutput
    var subscriptions: [String: Subscription] = [:]
    private(set) var state = State.awaitingConnect
    private let openedAt: Milliseconds
    private var nextPingAt: Milliseconds = 0
    private var pongDeadline: Milliseconds?
    private var nextPositionCheckAt: Milliseconds = 0
    /// `herald.command_rate` and `herald.publish_rate`; nil without a limit.
    private var commands: TokenBucket?
    private var publications: TokenBucket?
    /// Commands refused by `commands` since the last one let through: past the burst, the client is not
    /// listening, and is closed.
    private var refusedInARow = 0

    struct Subscription {
        /// Its place in the loop's channel index, or `awaitingJoin` / `notRegistered` while it joins its
        /// channel's stream.
        var slot: Int
        var pushJoinLeave: Bool
        var presence: Bool
        var joinLeave: Bool
        /// Gets publications as Fossil deltas (it sits in the index's delta list).
        var delta = false
        /// The offset of the last publication sent, the base of the next delta.
        var lastOffset: UInt64 = 0
        /// The epoch the subscriber was given, when its position is checked (`positioned`).
        var checkedEpoch: String?
        /// The subscribe command's id, while its join waits for Kafka: a later subscribe to the same
        /// channel must not take that answer.
        var joinID: UInt32 = 0
        /// The subscription token's `info`, shown to others as `chan_info`.
        var chanInfo: [UInt8]?
        /// When the subscription's token runs out (Unix seconds), for the reply's `ttl`.
        var expiresAt: Int64?
        /// The same as a monotonic deadline, grace included: unsubscribed with 2501 then.
        var expiryDeadline: Milliseconds?

        var joined: Bool { slot >= 0 }

        /// Registered for the channel's publications; the task that puts it in the index is on its way.
        static let awaitingJoin = -1
        /// Not registered yet: its join is being decided, or waits for older publications from Kafka.
        static let notRegistered = -2
    }


    enum State { case awaitingConnect, connected, closed }

    init(loop: LoopContext, output: SessionOutput, openedAt: Milliseconds) {
        self.loop = loop
        self.output = output
        self.openedAt = openedAt
        let settings = loop.node.sessionSettings
        commands = TokenBucket(rate: settings.commandRate, burst: settings.commandBurst, now: openedAt)
        publications = TokenBucket(rate: settings.publishRate, burst: settings.publishBurst, now: openedAt)
    }

    var node: Node { loop.node }
    var settings: SessionSettings { loop.node.sessionSettings }
    /// Who this connection is in `channel`, as the channel's other subscribers see it.
    func info(in channel: String) -> ClientInfo {
        ClientInfo(client: clientID, user: user, connInfo: connInfo, chanInfo: subscriptions[channel]?.chanInfo)
    }

    func matches(user: String, client: String?) -> Bool {
        if let client { return client == clientID }
        return user == self.user
    }

    // MARK: Incoming

    /// Handles one complete WebSocket text message: one or more newline-separated commands.
    public func receive(_ message: [UInt8], now: Milliseconds) {
        guard state != .closed else { return }
        var replies = JSONWriter(capacity: 256)
        var start = message.startIndex
        while start < message.endIndex, state != .closed {
            let end = message[start...].firstIndex(of: UInt8(ascii: "\n")) ?? message.endIndex
            let line = message[start..<end]
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let before = replies.bytes.count
            if before > 0 { replies.appendRaw("\n") }
            do throws(Disconnect) {
                try handle(line, now: now, replies: &replies)
            } catch {
                if replies.bytes.count == before + 1 { replies.bytes.removeLast() }
                flush(&replies)
                if error == .badRequest { node.refusals.count("bad_request") }
                disconnect(error)
                return
            }
            if replies.bytes.count == before + 1 { replies.bytes.removeLast() }
        }
        flush(&replies)
    }

    /// An error reply to command `id`, counted by code.
    func answerError(_ id: UInt32, _ error: ProtocolError, into replies: inout JSONWriter) {
        node.metrics.commandError(error)
        ReplyEncoder.error(id: id, error, into: &replies)
    }

    private func flush(_ replies: inout JSONWriter) {
        guard !replies.bytes.isEmpty else { return }
        output.send(Frame(text: replies.bytes))
        replies.bytes.removeAll(keepingCapacity: true)
    }

    private func handle(_ line: ArraySlice<UInt8>, now: Milliseconds, replies: inout JSONWriter) throws(Disconnect) {
        let command: ClientCommand
        do {
            command = try ClientCommand.decode(line)
        } catch {
            throw .badRequest
        }
        if command.method != .pong, commands?.take(now: now) == false {
            node.refusals.count("command_rate")
            refusedInARow += 1
            if refusedInARow > settings.commandBurst { throw .tooManyRequests }
            answerError(command.id, .tooManyRequests, into: &replies)
            return
        }
        refusedInARow = 0
        if case .connect(let request) = command.method {
            try connect(command.id, request, now: now, replies: &replies)
            return
        }
        guard state == .connected else { throw .badRequest }
        var grant: SubscriptionToken?
        switch command.method {
        case .pong:
            pongDeadline = nil
            return
        case .send:
            return  // asynchronous messages need a handler, which Herald does not have
        case _ where command.id == 0:
            throw .badRequest
        case .refresh(let token):
            try refresh(command.id, token: token, now: now, replies: &replies)
            return
        case .subRefresh(let channel, let token):
            try subRefresh(command.id, channel: channel, token: token, now: now, replies: &replies)
            return
        case .subscribe(let request) where !request.token.isEmpty:
            switch try subscriptionToken(request.token, channel: request.channel) {
            case .success(let granted):
                grant = granted
            case .failure(let error):
                answerError(command.id, error, into: &replies)
                return
            }
        default:
            break
        }
        do throws(ProtocolError) {
            try dispatch(command, grant: grant, now: now, replies: &replies)
        } catch {
            answerError(command.id, error, into: &replies)
        }
    }

    /// `grant`: the checked subscription token of a subscribe command that carried one.
    private func dispatch(_ command: ClientCommand, grant: SubscriptionToken?, now: Milliseconds,
                          replies: inout JSONWriter) throws(ProtocolError) {
        let id = command.id
        switch command.method {
        case .subscribe(let request):
            let options = try subscribe(request, grant: grant, now: now)
            subscriptions[request.channel]?.joinID = id
            if options.hasHistory {
                try joinStream(id: id, request, options)
            } else {
                ReplyEncoder.subscribe(id: id, .init(ttl: secondsLeft(until: grant?.expiresAt)), into: &replies)
            }
            if subscriptions[request.channel]?.joinLeave == true {
                var push = JSONWriter()
                ReplyEncoder.joinPush(channel: request.channel, info: info(in: request.channel), into: &push)
                node.deliver(channel: request.channel, frame: Frame(text: push.bytes), audience: .joinLeaveListeners)
            }
        case .unsubscribe(let channel):
            unsubscribe(from: channel)
            ReplyEncoder.empty(id: id, "unsubscribe", into: &replies)
        case .publish(let channel, let data):
            let (_, options) = try node.resolve(channel: channel)
            try checkPermitted(channel, forClient: options.allowPublishForClient,
                               forSubscriber: options.allowPublishForSubscriber,
                               forAnonymous: options.allowPublishForAnonymous)
            if publications?.take(now: now) == false {
                node.refusals.count("publish_rate")
                throw .tooManyRequests
            }
            let answer = LoopCallback(inbox: loop.inbox) { [weak self] (outcome: Result<StreamPosition, ProtocolError>) in
                self?.answerDurablePublish(id: id, outcome)
            }
            let ack = try node.publish(channel: channel, data: data, info: info(in: channel)) { answer($0) }
            if ack == .pending { return }
            ReplyEncoder.empty(id: id, "publish", into: &replies)
        case .presence(let channel):
            try checkPresenceAllowed(channel)
            ReplyEncoder.presence(id: id, node.presenceClients(of: channel), into: &replies)
        case .presenceStats(let channel):
            try checkPresenceAllowed(channel)
            ReplyEncoder.presenceStats(id: id, node.presenceStats(of: channel), into: &replies)
        case .history(let request):
            try checkHistoryAllowed(request.channel)
            let limit = request.limit == -1 || request.limit > settings.historyMaxPublicationLimit
                ? settings.historyMaxPublicationLimit : request.limit
            let (publications, position) = try node.history(
                channel: request.channel, .init(since: request.since, limit: limit, reverse: request.reverse))
            ReplyEncoder.history(id: id, publications, position, into: &replies)
        case .ping:
            ReplyEncoder.empty(id: id, "ping", into: &replies)
        case .rpc:
            throw .notAvailable
        case .unknown:
            throw .methodNotFound
        case .connect, .pong, .send, .refresh, .subRefresh:
            break  // handled before dispatch
        }
    }

    // MARK: Commands

    private func connect(_ id: UInt32, _ request: ClientCommand.ConnectRequest, now: Milliseconds,
                         replies: inout JSONWriter) throws(Disconnect) {
        guard state == .awaitingConnect else { throw .badRequest }
        var token: ConnectionToken?
        var admin: AdminToken?
        if request.token.isEmpty {
            guard settings.insecure || settings.anonymousConnect else { throw .badRequest }
        } else if let checked = AdminToken(request.token, verifier: settings.tokens.admin, now: wallSeconds()) {
            admin = checked
        } else {
            switch try connectionToken(request.token) {
            case .success(let checked):
                token = checked
            case .failure(let error):
                // Expired: the SDK fetches a new token and connects again on this or a new connection.
                answerError(id, error, into: &replies)
                return
            }
        }
        // The token's channels must all exist, as in Centrifugo: a typo in the backend shows at once.
        var serverSide: [(channel: String, options: NamespaceOptions)] = []
        for channel in token?.channels ?? [] where !serverSide.contains(where: { $0.channel == channel }) {
            do throws(ProtocolError) {
                serverSide.append((channel, try node.resolve(channel: channel).1))
            } catch {
                answerError(id, error, into: &replies)
                return
            }
        }
        if let token {
            user = token.user
            connInfo = token.info
            expiryDeadline = deadline(token.expiresAt, now: now, grace: settings.expiredCloseDelayMs)
        }
        if let admin {
            // The admin console: no user (never taken for one of the application's), until its token ends.
            isAdmin = true
            expiryDeadline = deadline(admin.expiresAt, now: now, grace: settings.expiredCloseDelayMs)
        }
        state = .connected
        node.userConnected(user)
        nextPingAt = now + settings.pingIntervalMs
        let subs = serverSide.prefix(settings.channelLimit == 0 ? .max : settings.channelLimit).map {
            (channel: $0.channel, result: subscribeServerSide($0.channel, $0.options, now: now))
        }
        ReplyEncoder.connect(id: id, client: clientID, version: node.version,
                             pingSeconds: Int(settings.pingIntervalMs / 1000), ttl: secondsLeft(until: token?.expiresAt ?? admin?.expiresAt), subs: subs,
                             into: &replies)
    }

    /// Checks and records the subscription. A channel without history joins the loop's index at once; one
    /// with history joins in `joinStream`, in step with its stream. A subscription token (`grant`) for the
    /// channel admits whatever the namespace's permissions say; an admin connection is admitted anywhere.
    private func subscribe(_ request: ClientCommand.SubscribeRequest, grant: SubscriptionToken?,
                           now: Milliseconds) throws(ProtocolError) -> NamespaceOptions {
        let channel = request.channel
        let (name, options) = try node.resolve(channel: channel)
        guard subscriptions[channel] == nil else { throw .alreadySubscribed }
        guard settings.channelLimit == 0 || subscriptions.count < settings.channelLimit else {
            node.refusals.count("channel_limit")
            throw .limitExceeded
        }
        try checkSubscribeAllowed(name, options, grant: grant)
        if !request.delta.isEmpty && !(request.delta == "fossil" && options.allowsFossilDelta) { throw .badRequest }

        record(channel, options, pushJoinLeave: options.joinLeave && (request.joinLeave || options.forcePushJoinLeave),
               delta: !request.delta.isEmpty && options.hasHistory, grant: grant, now: now)
        return options
    }

    /// Enters an admitted subscription in the session, the loop's index (without history) and presence.
    func record(_ channel: String, _ options: NamespaceOptions, pushJoinLeave: Bool, delta: Bool,
                grant: SubscriptionToken?, now: Milliseconds) {
        subscriptions[channel] = Subscription(
            slot: options.hasHistory ? Subscription.notRegistered : loop.channelIndex.add(self, to: channel),
            pushJoinLeave: pushJoinLeave,
            presence: options.presence,
            joinLeave: options.joinLeave,
            delta: delta,
            chanInfo: grant?.info,
            expiresAt: grant?.expiresAt,
            expiryDeadline: deadline(grant?.expiresAt, now: now, grace: settings.expiredSubCloseDelayMs))
        noteSubscriptionExpiry(subscriptions[channel]?.expiryDeadline)
        if !options.hasHistory { node.channels.added(channel: channel, loop: loop.index) }
        if options.presence { node.presence.add(info(in: channel), to: channel) }
    }


    /// A publication of a channel this session gets as deltas.
    func sendDelta(_ source: PublicationSource) {
        guard let lastOffset = subscriptions[source.channel]?.lastOffset else { return }
        output.send(source.frame(after: lastOffset))
        subscriptions[source.channel]?.lastOffset = source.offset
    }

    private func answerDurablePublish(id: UInt32, _ outcome: Result<StreamPosition, ProtocolError>) {
        guard state == .connected else { return }
        var reply = JSONWriter(capacity: 64)
        switch outcome {
        case .success: ReplyEncoder.empty(id: id, "publish", into: &reply)
        case .failure(let error): answerError(id, error, into: &reply)
        }
        output.send(Frame(text: reply.bytes))
    }

    func unsubscribe(from channel: String) {
        guard let subscription = subscriptions.removeValue(forKey: channel) else { return }
        if subscription.joined {
            loop.channelIndex.remove(slot: subscription.slot, from: channel, delta: subscription.delta)
        }
        if subscription.slot != Subscription.notRegistered { node.channels.removed(channel: channel, loop: loop.index) }
        if subscription.presence { node.presence.remove(client: clientID, from: channel) }
        if subscription.joinLeave {
            var push = JSONWriter()
            let info = ClientInfo(client: clientID, user: user, connInfo: connInfo, chanInfo: subscription.chanInfo)
            ReplyEncoder.leavePush(channel: channel, info: info, into: &push)
            node.deliver(channel: channel, frame: Frame(text: push.bytes), audience: .joinLeaveListeners)
        }
    }

    /// Unsubscribe decided by the server (HTTP API): the client is told with an unsubscribe push.
    func serverUnsubscribe(from channel: String) {
        guard subscriptions[channel] != nil else { return }
        unsubscribe(from: channel)
        var push = JSONWriter()
        ReplyEncoder.unsubscribePush(channel: channel, .server, into: &push)
        output.send(Frame(text: push.bytes))
    }

    // MARK: Timers and teardown

    func tick(now: Milliseconds) {
        switch state {
        case .awaitingConnect:
            if now >= openedAt + settings.connectTimeoutMs {
                node.refusals.count("connect_timeout")
                disconnect(.stale)
            }
        case .connected:
            if settings.positionCheckDelayMs > 0, now >= nextPositionCheckAt {
                nextPositionCheckAt = now + settings.positionCheckDelayMs
                checkPositions()
            }
            if let deadline = expiryDeadline, now >= deadline {
                disconnect(.expired)
                return
            }
            expireSubscriptions(now: now)
            if let deadline = pongDeadline, now >= deadline {
                node.refusals.count("no_pong")
                disconnect(.noPong)
            } else if settings.pingIntervalMs > 0, now >= nextPingAt {
                var ping = JSONWriter(capacity: 2)
                ReplyEncoder.ping(into: &ping)
                output.send(Frame(text: ping.bytes))
                nextPingAt = now + settings.pingIntervalMs
                if pongDeadline == nil, settings.pongTimeoutMs > 0 { pongDeadline = now + settings.pongTimeoutMs }
            }
        case .closed:
            break
        }
    }

    /// Positioned subscriptions whose stream moved to another epoch (history reset) can no longer continue
    /// from what they have: they are unsubscribed with 2500, and the SDK resubscribes and recovers.
    private func checkPositions() {
        for (channel, subscription) in subscriptions {
            guard let epoch = subscription.checkedEpoch, node.streamPosition(of: channel).epoch != epoch else { continue }
            unsubscribe(from: channel)
            var push = JSONWriter()
            ReplyEncoder.unsubscribePush(channel: channel, .insufficientState, into: &push)
            output.send(Frame(text: push.bytes))
        }
    }

    func disconnect(_ disconnect: Disconnect) {
        output.close(disconnect)
    }

    /// The transport closed the connection: leave every channel and forget the session.
    public func closed() {
        if state == .connected { node.userDisconnected(user) }
        state = .closed
        for channel in Array(subscriptions.keys) {
            unsubscribe(from: channel)
        }
        loop.forget(self)
    }
}
