/// Who a connection is, as presence, join/leave and client publications show it.
public struct ClientInfo: Equatable, Hashable, Sendable {
    public let client: String
    public let user: String

    public init(client: String, user: String) {
        self.client = client
        self.user = user
    }

    func write(to writer: inout JSONWriter) {
        writer.appendRaw("{\"user\":")
        writer.appendString(user)
        writer.appendRaw(",\"client\":")
        writer.appendString(client)
        writer.appendRaw("}")
    }
}
