/// Everything one event loop owns: its sessions, its channel index and its inbox. Used only on the loop's
/// thread; other threads reach it through `inbox`.
public final class LoopContext {
    public let index: Int
    public let node: Node
    public let inbox: LoopInbox
    var channelIndex = ChannelIndex()
    private var sessions: [ObjectIdentifier: ClientSession] = [:]
    private var dataSubscribers: [ObjectIdentifier: DataSubscriber] = [:]
    private var pending: [LoopEvent] = []
    /// Counted here, on the loop, and added to the node's metrics once a tick: no atomics per delivery.
    private var deliveries = 0
    private var deliveredBytes = 0
    private let totals: LoopTotals

    init(index: Int, node: Node, inbox: LoopInbox, totals: LoopTotals) {
        self.index = index
        self.node = node
        self.inbox = inbox
        self.totals = totals
    }

    public var sessionCount: Int { sessions.count }

    /// A new WebSocket connection on this loop; it must send `connect` before anything else.
    public func openSession(output: SessionOutput, now: Milliseconds) -> ClientSession {
        let session = ClientSession(loop: self, output: output, openedAt: now)
        sessions[ObjectIdentifier(session)] = session
        return session
    }

    func forget(_ session: ClientSession) {
        sessions[ObjectIdentifier(session)] = nil
    }

    /// A data stream (SSE, raw WebSocket) on this loop: it joins its channels now, and an SSE stream sends
    /// its response head through `output` first. A refusal is the HTTP answer to give instead.
    public func openDataStream(_ request: DataStreamRequest, output: SessionOutput, origin: String?,
                               now: Milliseconds) throws(HTTPError) -> DataSubscriber {
        let subscriber = DataSubscriber(loop: self, output: output, request: request, now: now)
        dataSubscribers[ObjectIdentifier(subscriber)] = subscriber
        do {
            try subscriber.open(origin: origin)
        } catch {
            subscriber.closed()
            throw error
        }
        return subscriber
    }

    func forget(_ subscriber: DataSubscriber) {
        dataSubscribers[ObjectIdentifier(subscriber)] = nil
    }

    /// Handles everything posted to this loop since the last call. Consecutive publications to one channel
    /// are joined into one frame first, so each subscriber is visited (and written to) once per drain, not
    /// once per publication: under load that is what lets one send carry many publications.
    public func drainInbox() {
        inbox.drain(into: &pending)
        var index = pending.startIndex
        while index < pending.endIndex {
            let end = endOfPublicationRun(from: index)
            if end - index > 1 {
                deliverRun(pending[index..<end])
            } else {
                handle(pending[index])
            }
            index = end
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Where the run of deliveries to all subscribers of one channel that starts at `start` ends.
    private func endOfPublicationRun(from start: Int) -> Int {
        guard case .deliver(let channel, _, .subscribers, _) = pending[start] else { return start + 1 }
        var end = start + 1
        while end < pending.endIndex, case .deliver(channel, _, .subscribers, _) = pending[end] {
            end += 1
        }
        return end
    }

    /// Several publications of one channel: plain subscribers get them as one joined frame, delta subscribers
    /// one by one (each delta applies to the one before), data streams joined as their form allows.
    private func deliverRun(_ run: ArraySlice<LoopEvent>) {
        guard case .deliver(let channel, _, _, _) = run.first! else { return }
        if let subscribers = channelIndex.subscribers(of: channel) {
            var frames: [Frame] = []
            frames.reserveCapacity(run.count)
            for case .deliver(_, let frame, _, _) in run { frames.append(frame) }
            let joined = Frame(joining: frames)
            for session in subscribers { session.output.send(joined) }
            deliveries += subscribers.count * frames.count
            deliveredBytes += subscribers.count * joined.bytes.count
        }
        var sources: [PublicationSource] = []
        for case .deliver(_, _, _, let source?) in run { sources.append(source) }
        guard !sources.isEmpty else { return }
        if let subscribers = channelIndex.deltaSubscribers(of: channel) {
            for source in sources {
                for session in subscribers { session.sendDelta(source) }
            }
            deliveries += subscribers.count * sources.count
        }
        if let subscribers = channelIndex.dataSubscribers(of: channel) {
            let run = DataStreamRun(sources)
            for subscriber in subscribers { subscriber.deliver(run) }
            deliveries += subscribers.count * sources.count
        }
    }

    /// `source` to the subscribers that negotiated deltas and the data streams.
    private func deliverToOthers(_ channel: String, _ source: PublicationSource) {
        if let subscribers = channelIndex.deltaSubscribers(of: channel) {
            for session in subscribers { session.sendDelta(source) }
            deliveries += subscribers.count
        }
        if let subscribers = channelIndex.dataSubscribers(of: channel) {
            for subscriber in subscribers { subscriber.deliver(source) }
            deliveries += subscribers.count
        }
    }

    private func handle(_ event: LoopEvent) {
        switch event {
        case .deliver(let channel, let frame, let audience, let source):
            switch audience {
            case .subscribers:
                let subscribers = channelIndex.subscribers(of: channel) ?? []
                for session in subscribers {
                    session.output.send(frame)
                }
                deliveries += subscribers.count
                deliveredBytes += subscribers.count * frame.bytes.count
                if let source { deliverToOthers(channel, source) }
            case .joinLeaveListeners:
                for list in [channelIndex.subscribers(of: channel), channelIndex.deltaSubscribers(of: channel)] {
                    for session in list ?? [] where session.subscriptions[channel]?.pushJoinLeave == true {
                        session.output.send(frame)
                    }
                }
            }
        case .unsubscribe(let channel, let user, let client):
            for list in [channelIndex.subscribers(of: channel), channelIndex.deltaSubscribers(of: channel)] {
                for session in list ?? [] where session.matches(user: user, client: client) {
                    session.serverUnsubscribe(from: channel)
                }
            }
        case .disconnect(let user, let client, let disconnect):
            for session in sessions.values where session.matches(user: user, client: client) {
                session.output.close(disconnect)
            }
        case .run(let task):
            task.body()
        }
    }

    /// Periodic work: server pings, pong and connect deadlines, data streams' heartbeats, and the metrics this
    /// loop counted.
    public func tick(now: Milliseconds) {
        var queuedBytes = 0
        var queuedFrames = 0
        for session in sessions.values {
            session.tick(now: now)
            queuedBytes += session.output.queuedBytes
            queuedFrames += session.output.queuedFrames
        }
        for subscriber in dataSubscribers.values {
            subscriber.tick(now: now)
            queuedBytes += subscriber.output.queuedBytes
            queuedFrames += subscriber.output.queuedFrames
        }
        totals.bytes.store(queuedBytes, ordering: .relaxed)
        totals.frames.store(queuedFrames, ordering: .relaxed)
        totals.dataStreams.store(dataSubscribers.count, ordering: .relaxed)
        if deliveries > 0 {
            node.metrics.deliveries.increment(by: deliveries)
            node.metrics.deliveredBytes.increment(by: deliveredBytes)
            deliveries = 0
            deliveredBytes = 0
        }
    }

    /// Asks every session to close with `disconnect` (graceful shutdown).
    public func closeAll(_ disconnect: Disconnect) {
        for session in sessions.values {
            session.output.close(disconnect)
        }
        for subscriber in dataSubscribers.values {
            subscriber.close(disconnect)
        }
    }
}

/// Monotonic milliseconds, passed in by the transport so session timing is testable.
public typealias Milliseconds = UInt64
