/// Builds the JSON text of replies and pushes (Centrifuge protocol v2), without Foundation.
/// Field names and shapes follow `client.proto`; zero values are omitted as protobuf's JSON mapping does.
public enum ReplyEncoder {
    /// `ttl`: seconds until the connection's token expires (the SDK refreshes it before), nil for never.
    /// `subs`: the server-side subscriptions made from the token's `channels`.
    public static func connect(id: UInt32, client: String, version: String, pingSeconds: Int, ttl: Int64?,
                               subs: [(channel: String, result: SubscribeResult)], into w: inout JSONWriter) {
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
        expiry(ttl, &w)
        if !subs.isEmpty {
            w.appendRaw(",\"subs\":{")
            for (index, sub) in subs.enumerated() {
                if index > 0 { w.appendRaw(",") }
                w.appendString(sub.channel)
                w.appendRaw(":")
                subscribeResult(sub.result, into: &w)
            }
            w.appendRaw("}")
        }
        w.appendRaw("}}")
    }

    /// The answer to `refresh`: the connection now lives `ttl` more seconds (nil: for ever).
    public static func refresh(id: UInt32, client: String, version: String, ttl: Int64?, into w: inout JSONWriter) {
        open(id: id, "refresh", &w)
        w.appendRaw("{\"client\":")
        w.appendString(client)
        w.appendRaw(",\"version\":")
        w.appendString(version)
        expiry(ttl, &w)
        w.appendRaw("}}")
    }

    /// The answer to `sub_refresh`.
    public static func subRefresh(id: UInt32, ttl: Int64?, into w: inout JSONWriter) {
        open(id: id, "sub_refresh", &w)
        w.appendRaw("{")
        if let ttl {
            w.appendRaw("\"expires\":true,\"ttl\":")
            w.appendInt(Int(ttl))
        }
        w.appendRaw("}}")
    }

    private static func expiry(_ ttl: Int64?, _ w: inout JSONWriter) {
        guard let ttl else { return }
        w.appendRaw(",\"expires\":true,\"ttl\":")
        w.appendInt(Int(ttl))
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

    /// A publication as it goes on the wire; `offset` 0 (a channel without history) is left out.
    public struct PublicationFields {
        var data: [UInt8]
        var offset: UInt64 = 0
        var info: ClientInfo?
        /// Subscribers with delta compression get the data as a JSON string (the JSON protocol's way).
        var dataAsString = false
        var delta = false
    }

    /// `{"push":{"channel":…,"pub":{"data":…,"offset":…}}}`; `data` must be valid JSON unless sent as a string.
    public static func publicationPush(channel: String, publication: PublicationFields, into w: inout JSONWriter) {
        pushHeader(channel: channel, &w)
        w.appendRaw("\"pub\":")
        self.publication(publication, into: &w)
        w.appendRaw("}}")
    }

    public static func publication(_ p: PublicationFields, into w: inout JSONWriter) {
        w.appendRaw("{\"data\":")
        if p.dataAsString {
            w.appendString(String(decoding: p.data, as: UTF8.self))
        } else {
            w.appendRaw(p.data)
        }
        if let info = p.info {
            w.appendRaw(",\"info\":")
            info.write(to: &w)
        }
        if p.offset > 0 {
            w.appendRaw(",\"offset\":")
            w.appendUInt64(p.offset)
        }
        if p.delta { w.appendRaw(",\"delta\":true") }
        w.appendRaw("}")
    }

    /// The subscribe reply: expiry, positions, recovery outcome, recovered publications.
    public static func subscribe(id: UInt32, _ result: SubscribeResult, into w: inout JSONWriter) {
        open(id: id, "subscribe", &w)
        subscribeResult(result, into: &w)
        w.appendRaw("}")
    }

    private static func subscribeResult(_ result: SubscribeResult, into w: inout JSONWriter) {
        w.appendRaw("{")
        var first = true
        func field(_ name: StaticString) {
            if !first { w.appendRaw(",") }
            first = false
            w.appendRaw("\"")
            w.appendRaw(name)
            w.appendRaw("\":")
        }
        if let ttl = result.ttl { field("expires"); w.appendRaw("true"); field("ttl"); w.appendInt(Int(ttl)) }
        if result.recoverable { field("recoverable"); w.appendRaw("true") }
        if result.positioned {
            field("positioned"); w.appendRaw("true")
            field("epoch"); w.appendString(result.position.epoch)
            if result.position.offset > 0 { field("offset"); w.appendUInt64(result.position.offset) }
        }
        if result.wasRecovering { field("was_recovering"); w.appendRaw("true") }
        if result.recovered { field("recovered"); w.appendRaw("true") }
        if result.delta { field("delta"); w.appendRaw("true") }
        if !result.publications.isEmpty {
            field("publications")
            w.appendRaw("[")
            for (index, publication) in result.publications.enumerated() {
                if index > 0 { w.appendRaw(",") }
                self.publication(publication, into: &w)
            }
            w.appendRaw("]")
        }
        w.appendRaw("}")
    }

    /// The history result, for the client command and the server API alike.
    public static func historyResult(_ publications: some Sequence<HistoryPublication>, _ position: StreamPosition,
                                     into w: inout JSONWriter) {
        w.appendRaw("{\"publications\":[")
        var first = true
        for publication in publications {
            if !first { w.appendRaw(",") }
            first = false
            self.publication(.init(data: publication.data, offset: publication.offset, info: publication.info), into: &w)
        }
        w.appendRaw("],\"epoch\":")
        w.appendString(position.epoch)
        w.appendRaw(",\"offset\":")
        w.appendUInt64(position.offset)
        w.appendRaw("}")
    }

    public static func history(id: UInt32, _ publications: some Sequence<HistoryPublication>, _ position: StreamPosition,
                               into w: inout JSONWriter) {
        open(id: id, "history", &w)
        historyResult(publications, position, into: &w)
        w.appendRaw("}")
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

    /// What a subscribe reply says about positions and recovery.
    public struct SubscribeResult {
        /// Seconds until the subscription token expires, nil for never.
        var ttl: Int64?
        var recoverable = false
        var positioned = false
        var position = StreamPosition(offset: 0, epoch: "")
        var wasRecovering = false
        var recovered = false
        var delta = false
        var publications: [PublicationFields] = []
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
