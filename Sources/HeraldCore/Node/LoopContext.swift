/// Everything one event loop owns: its sessions, its channel index and its inbox. Used only on the loop's
/// thread; other threads reach it through `inbox`.
public final class LoopContext {
    public let index: Int
    public let node: Node
    public let inbox: LoopInbox
    var channelIndex = ChannelIndex()
    private var sessions: [ObjectIdentifier: ClientSession] = [:]
    private var pending: [LoopEvent] = []

    init(index: Int, node: Node, inbox: LoopInbox) {
        self.index = index
        self.node = node
        self.inbox = inbox
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

    /// Handles everything posted to this loop since the last call. Consecutive publications to one channel
    /// are joined into one frame first, so each subscriber is visited (and written to) once per drain, not
    /// once per publication: under load that is what lets one send carry many publications.
    public func drainInbox() {
        inbox.drain(into: &pending)
        var index = pending.startIndex
        while index < pending.endIndex {
            let end = endOfPublicationRun(from: index)
            handle(end - index > 1 ? joinedDelivery(pending[index..<end]) : pending[index])
            index = end
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Where the run of deliveries to all subscribers of one channel that starts at `start` ends.
    private func endOfPublicationRun(from start: Int) -> Int {
        guard case .deliver(let channel, _, .subscribers) = pending[start] else { return start + 1 }
        var end = start + 1
        while end < pending.endIndex, case .deliver(channel, _, .subscribers) = pending[end] {
            end += 1
        }
        return end
    }

    private func joinedDelivery(_ run: ArraySlice<LoopEvent>) -> LoopEvent {
        var channel = ""
        var frames: [Frame] = []
        frames.reserveCapacity(run.count)
        for case .deliver(let name, let frame, _) in run {
            channel = name
            frames.append(frame)
        }
        return .deliver(channel: channel, frame: Frame(joining: frames), audience: .subscribers)
    }

    private func handle(_ event: LoopEvent) {
        switch event {
        case .deliver(let channel, let frame, let audience):
            guard let subscribers = channelIndex.subscribers(of: channel) else { return }
            switch audience {
            case .subscribers:
                for session in subscribers {
                    session.output.send(frame)
                }
            case .joinLeaveListeners:
                for session in subscribers where session.subscriptions[channel]?.pushJoinLeave == true {
                    session.output.send(frame)
                }
            }
        case .unsubscribe(let channel, let user, let client):
            guard let subscribers = channelIndex.subscribers(of: channel) else { return }
            for session in subscribers where session.matches(user: user, client: client) {
                session.serverUnsubscribe(from: channel)
            }
        case .disconnect(let user, let client, let disconnect):
            for session in sessions.values where session.matches(user: user, client: client) {
                session.output.close(disconnect)
            }
        }
    }

    /// Periodic work: server pings, pong and connect deadlines.
    public func tick(now: Milliseconds) {
        for session in sessions.values {
            session.tick(now: now)
        }
    }

    /// Asks every session to close with `disconnect` (graceful shutdown).
    public func closeAll(_ disconnect: Disconnect) {
        for session in sessions.values {
            session.output.close(disconnect)
        }
    }
}

/// Monotonic milliseconds, passed in by the transport so session timing is testable.
public typealias Milliseconds = UInt64
