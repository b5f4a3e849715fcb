/// What one event loop is asked to do by the rest of the node. Events reach a loop in the order they were
/// posted, so publications of one channel are delivered in publish order on every loop.
public enum LoopEvent: Sendable {
    /// Send `frame` to this loop's subscribers of `channel` (all of them, or only those that asked for
    /// join/leave pushes). `source` is set for publications of channels whose namespace allows deltas or that
    /// have data-stream subscribers: what those get instead of `frame`.
    case deliver(channel: String, frame: Frame, audience: Audience, source: PublicationSource?)
    /// Server-side unsubscribe of `user`'s connections (or one `client`) from `channel`.
    case unsubscribe(channel: String, user: String, client: String?)
    /// Close `user`'s connections (or one `client`) with `disconnect`.
    case disconnect(user: String, client: String?, Disconnect)
    /// Work that must run on this loop's thread, in order with the deliveries posted around it.
    case run(LoopTask)

    public enum Audience: Sendable {
        case subscribers
        case joinLeaveListeners
    }
}

/// A closure run on one loop's thread. `@unchecked Sendable`: whoever posts it to a loop's inbox promises
/// it touches only that loop's objects (its sessions, its connections), which only that thread uses.
public struct LoopTask: @unchecked Sendable {
    let body: () -> Void

    public init(_ body: @escaping () -> Void) {
        self.body = body
    }
}

/// A callback for work finished on another thread (the durable log's) whose result must be handled on
/// one loop's thread: calling it, from any thread, posts `body` with the value to that loop.
/// `@unchecked Sendable` for the reason `LoopTask` is.
public struct LoopCallback<Value: Sendable>: @unchecked Sendable {
    let inbox: LoopInbox
    let body: (Value) -> Void

    public init(inbox: LoopInbox, _ body: @escaping (Value) -> Void) {
        self.inbox = inbox
        self.body = body
    }

    public func callAsFunction(_ value: Value) {
        let body = body
        inbox.post(.run(LoopTask { body(value) }))
    }
}
