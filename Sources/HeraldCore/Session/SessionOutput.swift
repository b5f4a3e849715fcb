/// What a session needs from its transport connection. Implemented by the transport, called on the loop's
/// thread only.
public protocol SessionOutput: AnyObject {
    /// Queues a frame. The transport bounds the queue and closes a connection that falls behind with
    /// `Disconnect.slow`.
    func send(_ frame: Frame)
    /// Sends what is queued, then closes the connection with `disconnect`'s code and reason.
    func close(_ disconnect: Disconnect)
}
