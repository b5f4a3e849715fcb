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
        case history(channel: String)
        case ping
        case send
        case rpc
        case refresh
        case subRefresh
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
        public var joinLeave: Bool
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
                channel: try channel(p), token: try string(p, "token"), joinLeave: try bool(p, "join_leave")))
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
            method = .history(channel: try channel(p))
        } else if try params("ping") != nil {
            method = .ping
        } else if try params("send") != nil {
            method = .send
        } else if try params("rpc") != nil {
            method = .rpc
        } else if try params("refresh") != nil {
            method = .refresh
        } else if try params("sub_refresh") != nil {
            method = .subRefresh
        } else {
            method = id == 0 ? .pong : .unknown
        }
        return ClientCommand(id: id, method: method)
    }
}
