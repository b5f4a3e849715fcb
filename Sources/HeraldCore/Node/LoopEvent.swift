/// What one event loop is asked to do by the rest of the node. Events reach a loop in the order they were
/// posted, so publications of one channel are delivered in publish order on every loop.
public enum LoopEvent: Sendable {
    /// Send `frame` to this loop's subscribers of `channel` (all of them, or only those that asked for
    /// join/leave pushes).
    case deliver(channel: String, frame: Frame, audience: Audience)
    /// Server-side unsubscribe of `user`'s connections (or one `client`) from `channel`.
    case unsubscribe(channel: String, user: String, client: String?)
    /// Close `user`'s connections (or one `client`) with `disconnect`.
    case disconnect(user: String, client: String?, Disconnect)

    public enum Audience: Sendable {
        case subscribers
        case joinLeaveListeners
    }
}
