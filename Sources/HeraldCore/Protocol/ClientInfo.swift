/// Who a connection is, as presence, join/leave and client publications show it: the user and client, and
/// the `info` claims of its connection token (`conn_info`) and of its subscription token (`chan_info`),
/// passed through as the issuer wrote them.
public struct ClientInfo: Equatable, Hashable, Sendable {
    public let client: String
    public let user: String
    public let connInfo: [UInt8]?
    public let chanInfo: [UInt8]?

    public init(client: String, user: String, connInfo: [UInt8]? = nil, chanInfo: [UInt8]? = nil) {
        self.client = client
        self.user = user
        self.connInfo = connInfo
        self.chanInfo = chanInfo
    }

    func write(to writer: inout JSONWriter) {
        writer.appendRaw("{\"user\":")
        writer.appendString(user)
        writer.appendRaw(",\"client\":")
        writer.appendString(client)
        if let connInfo {
            writer.appendRaw(",\"conn_info\":")
            writer.bytes.append(contentsOf: connInfo)
        }
        if let chanInfo {
            writer.appendRaw(",\"chan_info\":")
            writer.bytes.append(contentsOf: chanInfo)
        }
        writer.appendRaw("}")
    }
}
