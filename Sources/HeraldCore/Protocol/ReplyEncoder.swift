/// Builds the JSON text of replies and pushes (Centrifuge protocol v2), without Foundation.
/// Field names and shapes follow `client.proto`; zero values are omitted as protobuf's JSON mapping does.
public enum ReplyEncoder {
    public static func connect(id: UInt32, client: String, version: String, pingSeconds: Int, into w: inout JSONWriter) {
        open(id: id, "connect", &w)
        w.appendRaw("{\"client\":")
        w.appendString(client)
        w.appendRaw(",\"version\":")
        w.appendString(version)
        if pingSeconds > 0 {
            w.appendRaw(",\"ping\":")
            w.appendInt(pingSeconds)
            w.appendRaw(",\"pong\":true")
        }
        w.appendRaw("}}")
    }

    /// A reply whose result carries no fields: subscribe, unsubscribe, publish, ping.
    public static func empty(id: UInt32, _ method: StaticString, into w: inout JSONWriter) {
        open(id: id, method, &w)
        w.appendRaw("{}}")
    }

    public static func presence(id: UInt32, _ clients: [ClientInfo], into w: inout JSONWriter) {
        open(id: id, "presence", &w)
        w.appendRaw("{\"presence\":")
        presenceMap(clients, into: &w)
        w.appendRaw("}}")
    }

    public static func presenceMap(_ clients: [ClientInfo], into w: inout JSONWriter) {
        w.appendRaw("{")
        for (index, info) in clients.enumerated() {
            if index > 0 { w.appendRaw(",") }
            w.appendString(info.client)
            w.appendRaw(":")
            info.write(to: &w)
        }
        w.appendRaw("}")
    }

    public static func presenceStats(id: UInt32, _ stats: PresenceStats, into w: inout JSONWriter) {
        open(id: id, "presence_stats", &w)
        stats.write(to: &w)
        w.appendRaw("}")
    }

    public static func error(id: UInt32, _ error: ProtocolError, into w: inout JSONWriter) {
        if id > 0 {
            w.appendRaw("{\"id\":")
            w.appendUInt64(UInt64(id))
            w.appendRaw(",\"error\":")
        } else {
            w.appendRaw("{\"error\":")
        }
        errorObject(error, into: &w)
        w.appendRaw("}")
    }

    public static func errorObject(_ error: ProtocolError, into w: inout JSONWriter) {
        w.appendRaw("{\"code\":")
        w.appendInt(error.code)
        w.appendRaw(",\"message\":")
        w.appendString(error.message)
        w.appendRaw("}")
    }

    /// `{"push":{"channel":…,"pub":{"data":…}}}`; `data` must already be valid JSON.
    public static func publicationPush(channel: String, data: [UInt8], info: ClientInfo?, into w: inout JSONWriter) {
        pushHeader(channel: channel, &w)
        w.appendRaw("\"pub\":{\"data\":")
        w.appendRaw(data)
        if let info {
            w.appendRaw(",\"info\":")
            info.write(to: &w)
        }
        w.appendRaw("}}}")
    }

    public static func joinPush(channel: String, info: ClientInfo, into w: inout JSONWriter) {
        pushHeader(channel: channel, &w)
        w.appendRaw("\"join\":{\"info\":")
        info.write(to: &w)
        w.appendRaw("}}}")
    }

    public static func leavePush(channel: String, info: ClientInfo, into w: inout JSONWriter) {
        pushHeader(channel: channel, &w)
        w.appendRaw("\"leave\":{\"info\":")
        info.write(to: &w)
        w.appendRaw("}}}")
    }

    public static func unsubscribePush(channel: String, _ reason: UnsubscribeReason, into w: inout JSONWriter) {
        pushHeader(channel: channel, &w)
        w.appendRaw("\"unsubscribe\":{\"code\":")
        w.appendInt(reason.code)
        w.appendRaw(",\"reason\":")
        w.appendString(reason.reason)
        w.appendRaw("}}}")
    }

    /// The server's ping: an empty object, answered by the client with an empty command.
    public static func ping(into w: inout JSONWriter) {
        w.appendRaw("{}")
    }

    private static func open(id: UInt32, _ method: StaticString, _ w: inout JSONWriter) {
        w.appendRaw("{\"id\":")
        w.appendUInt64(UInt64(id))
        w.appendRaw(",\"")
        w.appendRaw(method)
        w.appendRaw("\":")
    }

    private static func pushHeader(channel: String, _ w: inout JSONWriter) {
        w.appendRaw("{\"push\":{\"channel\":")
        w.appendString(channel)
        w.appendRaw(",")
    }
}

public struct PresenceStats: Equatable, Sendable {
    public var numClients: Int
    public var numUsers: Int

    public init(numClients: Int, numUsers: Int) {
        self.numClients = numClients
        self.numUsers = numUsers
    }

    public func write(to w: inout JSONWriter) {
        w.appendRaw("{\"num_clients\":")
        w.appendInt(numClients)
        w.appendRaw(",\"num_users\":")
        w.appendInt(numUsers)
        w.appendRaw("}")
    }
}
