/// What a session needs from its transport connection. Implemented by the transport, called on the loop's
/// thread only.
public protocol SessionOutput: AnyObject {
    /// Queues a frame. The transport bounds the queue and closes a connection that falls behind with
    /// `Disconnect.slow`.
    func send(_ frame: Frame)
    /// Sends what is queued, then closes the connection with `disconnect`'s code and reason.
    func close(_ disconnect: Disconnect)
    /// Bytes and frames waiting to be sent, for the metrics.
    var queuedBytes: Int { get }
    var queuedFrames: Int { get }
}

extension SessionOutput {
    public var queuedBytes: Int { 0 }
    public var queuedFrames: Int { 0 }
}
