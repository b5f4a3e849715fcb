/// A data-stream subscriber on one loop: a Server-Sent Events stream or a raw WebSocket. It gets each
/// publication's data as published (never protocol pushes), from the `PublicationSource` that every data
/// subscriber of the channel shares, and nothing it sends is read.
///
/// It joins each channel as a WebSocket subscriber recovering from `since` does (under the channel's lock,
/// so each publication arrives exactly once: in the catch-up or live). Memory only: a position older than the
/// channel's history (or than a Kafka-bridged channel's window) cannot be caught up; an SSE stream then
/// gets an `unrecovered` event and goes on live, a raw WebSocket closes with `unrecoverable`.
///
/// Bounds: its output is the transport's bounded queue (a slow reader is closed with 3008); a catch-up is
/// bounded by `client.recovery_max_publication_limit` and half the queue size, as for WebSocket clients.
public final class DataSubscriber {
    /// A stream that sent nothing for this long gets a heartbeat (an SSE comment, a WebSocket ping), so
    /// proxies keep it and a dead peer shows up as a failed write.
    static let heartbeatInterval: Milliseconds = 25_000
    static let unrecoverable = Disconnect(code: WebSocketCloseCode.unrecoverablePosition,
                                          reason: "since: the channel's history no longer has that offset")
    static let shutdown = Disconnect(code: WebSocketCloseCode.goingAway, reason: "shutdown")
    private static let notRegistered = -2
    private static let awaitingJoin = -1

    private unowned let loop: LoopContext
    let output: SessionOutput
    private let request: DataStreamRequest
    /// Where the stream stands in each channel (what an SSE `id` says), nil for a channel without history.
    private var positions: [StreamPosition?]
    /// Each channel's slot in the loop's index, or `notRegistered` / `awaitingJoin`.
    private var slots: [Int]
    /// When the stream last sent, as of the loop's ticks: `sentSinceTick` moves it, so sending reads no clock.
    private var lastSentAt: Milliseconds
    private var sentSinceTick = false
    private var isClosed = false

    init(loop: LoopContext, output: SessionOutput, request: DataStreamRequest, now: Milliseconds) {
        self.loop = loop
        self.output = output
        self.request = request
        positions = request.since
        slots = Array(repeating: Self.notRegistered, count: request.channels.count)
        lastSentAt = now
    }

    private var node: Node { loop.node }

    /// Joins every channel; an SSE stream then sends its response head and its starting `id`, so a client
    /// that reconnects before any event still resumes from here. `origin`: the page's, answered for CORS.
    /// Nothing is sent before every channel is joined (a refusal is then the whole answer); what the joins
    /// deliver goes out later, from the loop's inbox.
    func open(origin: String?) throws(HTTPError) {
        for index in request.channels.indices { try join(index) }
        guard request.format == .eventStream else { return }
        send(Frame(raw: Self.eventStreamHead(origin: origin)))
        if positions.contains(where: { $0 != nil }) {
            send(Frame(raw: EventStreamID.line(positions) + [UInt8(ascii: "\n")]))
        }
    }

    static func eventStreamHead(origin: String?) -> [UInt8] {
        var head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        head += "x-accel-buffering: no\r\nconnection: close\r\n"
        if let origin { head += "access-control-allow-origin: \(origin)\r\nvary: origin\r\n" }
        return Array((head + "\r\n").utf8)
    }

    private func join(_ index: Int) throws(HTTPError) {
        let channel = request.channels[index]
        let options = request.options[index]
        guard options.hasHistory else {
            node.channels.added(channel: channel, loop: loop.index, dataSubscriber: true)
            slots[index] = loop.channelIndex.add(self, to: channel)
            return
        }
        let since = request.since[index]
        let settings = node.sessionSettings
        let recovery = try node.history.entry(channel).stream.withLock { stream throws(HTTPError) -> Recovery in
            node.bridge?.bind(channel, &stream)
            stream.trim(now: WallClock.nowMilliseconds(), limits: HistoryLimits(options))
            let recovery: Recovery
            do throws(ProtocolError) {
                recovery = try Recovery.join(
                    stream, mode: options.forceRecoveryMode, enabled: true,
                    request: .init(recover: since != nil, offset: since?.offset ?? 0, epoch: since?.epoch ?? ""),
                    maxPublications: settings.recoveryMaxPublicationLimit, maxBytes: settings.queueMaxSize / 2)
            } catch {
                throw HTTPError(status: 400, message: "since: \(channel.prefix(100)) has no offset \(since?.offset ?? 0) yet")
            }
            node.channels.added(channel: channel, loop: loop.index, dataSubscriber: true)
            loop.inbox.post(.run(LoopTask { [weak self] in self?.joined(index, recovery) }))
            return recovery
        }
        slots[index] = Self.awaitingJoin
        positions[index] = recovery.position
    }

    /// The loop reached the point where the channel's stream was at the join: the catch-up goes out, and
    /// from here the channel's publications come live.
    private func joined(_ index: Int, _ recovery: Recovery) {
        guard !isClosed else { return }
        let channel = request.channels[index]
        if recovery.wasRecovering { node.metrics.recovery(recovered: recovery.recovered) }
        if recovery.wasRecovering && !recovery.recovered {
            guard request.format == .eventStream else { return output.close(Self.unrecoverable) }
            var event = JSONWriter(capacity: 64 + channel.utf8.count)
            event.appendRaw("event: unrecovered\ndata: {\"channel\":")
            event.appendString(channel)
            event.appendRaw("}\n\n")
            send(Frame(raw: event.bytes))
        }
        for publication in recovery.publications {
            deliver(PublicationSource(channel: channel, offset: publication.offset, epoch: recovery.position.epoch,
                                      data: publication.data))
        }
        slots[index] = loop.channelIndex.add(self, to: channel)
    }

    /// A publication of one of the stream's channels.
    func deliver(_ source: PublicationSource) {
        guard let index = request.channels.firstIndex(of: source.channel) else { return }
        if let position = source.position { positions[index] = position }
        switch request.format {
        case .webSocket:
            send(source.webSocketFrame)
        case .eventStream where positions.count == 1:
            send(source.event(withID: true))
        case .eventStream:
            if positions.contains(where: { $0 != nil }) { send(Frame(raw: EventStreamID.line(positions))) }
            send(source.event(withID: false))
        }
    }

    /// Several publications of one channel in one round: a raw WebSocket or a single-channel SSE stream takes
    /// them as one joined frame (its last id is the last publication's position); a stream of several
    /// channels needs an id line before each.
    func deliver(_ run: DataStreamRun) {
        guard positions.count == 1 else { return run.sources.forEach(deliver) }
        if let position = run.sources.last?.position { positions[0] = position }
        send(request.format == .webSocket ? run.webSocketFrames : run.eventsWithIDs)
    }

    private func send(_ frame: Frame) {
        output.send(frame)
        sentSinceTick = true
    }

    func tick(now: Milliseconds) {
        if sentSinceTick {
            sentSinceTick = false
            lastSentAt = now
        } else if now - lastSentAt >= Self.heartbeatInterval {
            output.send(request.format == .eventStream ? Self.eventStreamHeartbeat : Self.webSocketPing)
            lastSentAt = now
        }
    }

    private static let eventStreamHeartbeat = Frame(raw: Array(":\n\n".utf8))
    /// An empty WebSocket ping; clients answer with a pong, which is ignored.
    private static let webSocketPing = Frame(raw: [0x89, 0x00])

    func close(_ disconnect: Disconnect) {
        output.close(request.format == .webSocket && disconnect == .shutdown ? Self.shutdown : disconnect)
    }

    /// Keeps the index's record of where this subscriber sits in `channel`'s list.
    func moved(to slot: Int, in channel: String) {
        if let index = request.channels.firstIndex(of: channel) { slots[index] = slot }
    }

    /// The transport closed the connection: leave every channel and forget the subscriber.
    public func closed() {
        guard !isClosed else { return }
        isClosed = true
        for (index, channel) in request.channels.enumerated() where slots[index] != Self.notRegistered {
            if slots[index] >= 0 { loop.channelIndex.remove(dataSubscriberAt: slots[index], from: channel) }
            node.channels.removed(channel: channel, loop: loop.index, dataSubscriber: true)
        }
        loop.forget(self)
    }
}
