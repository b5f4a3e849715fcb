/// One complete server-to-client WebSocket text frame (header and payload), built once and shared read-only
/// by every connection that sends it: a publication is framed once, not once per subscriber.
public final class Frame: Sendable {
    public let bytes: [UInt8]

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
    }

    public var count: Int { bytes.count }
}
