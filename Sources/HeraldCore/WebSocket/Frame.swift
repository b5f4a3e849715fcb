/// Complete server-to-client WebSocket text frames (header and payload), or Server-Sent Events (`raw`),
/// built once and shared read-only by every connection that sends them: a publication is framed once, not once per subscriber. Usually one
/// frame; a loop that drains several publications of a channel at once joins them into one (`joining`), so
/// each subscriber gets them with one queue entry and one write.
public final class Frame: Sendable {
    public let bytes: [UInt8]
    /// Messages (WebSocket frames) in `bytes`.
    public let messageCount: Int

    /// Frames a JSON text payload. Server frames are never masked (RFC 6455 §5.1).
    public init(text payload: [UInt8]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(payload.count + 10)
        bytes.append(0x81)  // FIN + text
        let count = payload.count
        if count < 126 {
            bytes.append(UInt8(count))
        } else if count <= 0xFFFF {
            bytes.append(126)
            bytes.append(UInt8(count >> 8))
            bytes.append(UInt8(count & 0xFF))
        } else {
            bytes.append(127)
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8((UInt64(count) >> UInt64(shift)) & 0xFF))
            }
        }
        bytes.append(contentsOf: payload)
        self.bytes = bytes
        messageCount = 1
    }

    /// Bytes sent as they are, one message: a Server-Sent Event, or a part of one.
    public init(raw bytes: [UInt8]) {
        self.bytes = bytes
        messageCount = 1
    }

    /// `frames` back to back: several complete frames in one write are as valid on the wire as one each.
    public init(joining frames: some Collection<Frame>) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(frames.reduce(0) { $0 + $1.count })
        for frame in frames { bytes.append(contentsOf: frame.bytes) }
        self.bytes = bytes
        messageCount = frames.reduce(0) { $0 + $1.messageCount }
    }

    public var count: Int { bytes.count }
}
