/// One command of the Centrifuge client protocol v2 (JSON), decoded from one line of a WebSocket message.
///
/// Only the fields Herald acts on are decoded; unknown fields are ignored as the protocol requires, so newer
/// SDKs keep working. Publication data stays the publisher's exact bytes.
public struct ClientCommand: Equatable, Sendable {
    public var id: UInt32
    public var method: Method

    public enum Method: Equatable, Sendable {
        case connect(ConnectRequest)
        case subscribe(SubscribeRequest)
        case unsubscribe(channel: String)
        case publish(channel: String, data: [UInt8])
        case presence(channel: String)
        case presenceStats(channel: String)
        case history(HistoryRequest)
        case ping
        case send
        case rpc
        /// A new connection token before the current one expires.
        case refresh(token: String)
        /// A new subscription token for a subscribed channel.
        case subRefresh(channel: String, token: String)
        /// `{}`: the client's answer to a server ping.
        case pong
        /// A command with an id but no method Herald knows.
        case unknown
    }

    public struct ConnectRequest: Equatable, Sendable {
        public var token: String
        public var name: String
        public var version: String
    }

    public struct SubscribeRequest: Equatable, Sendable {
        public var channel: String
        public var token: String
        /// The client asks for join/leave pushes (protocol field `join_leave`).
        public var joinLeave: Bool = false
        /// `recover` with the position (`offset`, `epoch`) the client has seen up to.
        public var recover = false
        public var offset: UInt64 = 0
        public var epoch = ""
        /// `positioned`, `recoverable`: the client asks for position checks and recovery.
        public var positioned = false
        public var recoverable = false
        /// `delta`: "" or the delta compression it asks for ("fossil").
        public var delta = ""
        /// `flag`: the SDK's feature bits; `rejectUnrecoveredFlag` asks for error 112 over `recovered: false`.
        public var flag: Int64 = 0

        public static let rejectUnrecoveredFlag: Int64 = 2
    }

    public struct HistoryRequest: Equatable, Sendable {
        public var channel: String
        /// 0 (or absent): only the position; -1: everything kept.
        public var limit: Int
        public var since: StreamPosition?
        public var reverse: Bool
    }

    /// Why a line is not a command; the connection is closed with `Disconnect.badRequest`.
    public struct Malformed: Error, Equatable, Sendable {
        public let reason: String
    }

    public static func decode(_ line: ArraySlice<UInt8>) throws(Malformed) -> ClientCommand {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            throw Malformed(reason: "invalid JSON: \(error)")
        }
        guard case .object(let object) = value else { throw Malformed(reason: "command is not an object") }

        var id: UInt32 = 0
        if let idValue = object["id"] {
            guard let raw = idValue.uint64Value, raw <= UInt64(UInt32.max) else {
                throw Malformed(reason: "id is not a uint32")
            }
            id = UInt32(raw)
        }
        func params(_ name: String) throws(Malformed) -> JSONObject? {
            guard let field = object[name] else { return nil }
            if case .null = field { return nil }
            guard case .object(let params) = field else { throw Malformed(reason: "\(name) is not an object") }
            return params
        }
        func string(_ params: JSONObject, _ key: String) throws(Malformed) -> String {
            guard let field = params[key] else { return "" }
            if case .null = field { return "" }
            guard let text = field.stringValue else { throw Malformed(reason: "\(key) is not a string") }
            return text
        }
        func bool(_ params: JSONObject, _ key: String) throws(Malformed) -> Bool {
            guard let field = params[key] else { return false }
            if case .null = field { return false }
            guard let flag = field.boolValue else { throw Malformed(reason: "\(key) is not a boolean") }
            return flag
        }
        func uint64(_ params: JSONObject, _ key: String) throws(Malformed) -> UInt64 {
            guard let field = params[key] else { return 0 }
            if case .null = field { return 0 }
            guard let number = field.uint64Value else { throw Malformed(reason: "\(key) is not a uint64") }
            return number
        }
        func int64(_ params: JSONObject, _ key: String) throws(Malformed) -> Int64 {
            guard let field = params[key] else { return 0 }
            if case .null = field { return 0 }
            guard let number = field.int64Value else { throw Malformed(reason: "\(key) is not an integer") }
            return number
        }
        func channel(_ params: JSONObject) throws(Malformed) -> String {
            let name = try string(params, "channel")
            if name.isEmpty { throw Malformed(reason: "channel required") }
            return name
        }

        let method: Method
        if let p = try params("connect") {
            method = .connect(ConnectRequest(
                token: try string(p, "token"), name: try string(p, "name"), version: try string(p, "version")))
        } else if let p = try params("subscribe") {
            method = .subscribe(SubscribeRequest(
                channel: try channel(p), token: try string(p, "token"), joinLeave: try bool(p, "join_leave"),
                recover: try bool(p, "recover"), offset: try uint64(p, "offset"), epoch: try string(p, "epoch"),
                positioned: try bool(p, "positioned"), recoverable: try bool(p, "recoverable"),
                delta: try string(p, "delta"), flag: try int64(p, "flag")))
        } else if let p = try params("unsubscribe") {
            method = .unsubscribe(channel: try channel(p))
        } else if let p = try params("publish") {
            guard let range = p.rawRange(of: "data") else { throw Malformed(reason: "publish data required") }
            method = .publish(channel: try channel(p), data: Array(line[range]))
        } else if let p = try params("presence") {
            method = .presence(channel: try channel(p))
        } else if let p = try params("presence_stats") {
            method = .presenceStats(channel: try channel(p))
        } else if let p = try params("history") {
            let limit = try int64(p, "limit")
            guard limit >= Int64(Int32.min), limit <= Int64(Int32.max) else { throw Malformed(reason: "limit is not an int32") }
            var since: StreamPosition?
            if let field = p["since"], field != .null {
                guard let position = field.objectValue else { throw Malformed(reason: "since is not an object") }
                since = StreamPosition(offset: try uint64(position, "offset"), epoch: try string(position, "epoch"))
            }
            method = .history(HistoryRequest(channel: try channel(p), limit: Int(limit), since: since,
                                             reverse: try bool(p, "reverse")))
        } else if try params("ping") != nil {
            method = .ping
        } else if try params("send") != nil {
            method = .send
        } else if try params("rpc") != nil {
            method = .rpc
        } else if let p = try params("refresh") {
            method = .refresh(token: try string(p, "token"))
        } else if let p = try params("sub_refresh") {
            method = .subRefresh(channel: try channel(p), token: try string(p, "token"))
        } else {
            method = id == 0 ? .pong : .unknown
        }
        return ClientCommand(id: id, method: method)
    }
}
