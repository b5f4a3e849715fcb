/// The HTTP server API in the shape of Centrifugo's: `POST /api/<method>` with a JSON object, answered with
/// `{"result": …}` or, for a failed operation, `{"error": {"code", "message"}}` with status 200. A request
/// that is not an API call at all gets an HTTP status: 400 for a body that is not a JSON object, 404 for an
/// unknown method. Authentication and body size are the transport's, before a request gets here.
public struct ServerAPI: Sendable {
    public let node: Node

    public init(node: Node) {
        self.node = node
    }

    public struct Response: Equatable, Sendable {
        public let status: Int
        public let body: [UInt8]
    }

    public static let methods: Set<String> = [
        "publish", "broadcast", "unsubscribe", "disconnect", "presence", "presence_stats", "history",
        "history_remove", "channels", "info",
    ]

    public typealias Respond = @Sendable (Response) -> Void

    /// Answers one call through `respond`: at once, or, for publishes to durable channels, once the durable
    /// log has them (then on the log's thread).
    public func handle(method: String, body: [UInt8], respond: @escaping Respond) {
        guard Self.methods.contains(method) else {
            return respond(failure(status: 404, .methodNotFound, detail: "unknown API method \(method)"))
        }
        let params: JSONObject
        do {
            let text = body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 } ? Array("{}".utf8) : body
            guard case .object(let object) = try JSONParser.parse(text) else {
                return respond(failure(status: 400, .badRequest, detail: "request body must be a JSON object"))
            }
            params = object
        } catch {
            return respond(failure(status: 400, .badRequest, detail: "invalid JSON: \(error)"))
        }
        var out = JSONWriter(capacity: 128)
        do throws(ProtocolError) {
            if try call(method, params, body, &out, respond) == .later { return }
            respond(Self.result(out.bytes))
        } catch {
            respond(Self.error(error))
        }
    }

    private enum Answer { case now, later }

    static func result(_ result: [UInt8]) -> Response {
        Response(status: 200, body: Array("{\"result\":".utf8) + result + [UInt8(ascii: "}")])
    }

    static func error(_ error: ProtocolError) -> Response {
        var out = JSONWriter(capacity: 64)
        out.appendRaw("{\"error\":")
        ReplyEncoder.errorObject(error, into: &out)
        out.appendRaw("}")
        return Response(status: 200, body: out.bytes)
    }

    /// Centrifugo's publish result: the position, for channels with history.
    static func publishResult(_ position: StreamPosition?, into out: inout JSONWriter) {
        guard let position else { return out.appendRaw("{}") }
        out.appendRaw("{\"offset\":")
        out.appendUInt64(position.offset)
        out.appendRaw(",\"epoch\":")
        out.appendString(position.epoch)
        out.appendRaw("}")
    }

    private func call(_ method: String, _ params: JSONObject, _ body: [UInt8], _ out: inout JSONWriter,
                      _ respond: @escaping Respond) throws(ProtocolError) -> Answer {
        switch method {
        case "publish":
            let channel = try requiredString(params, "channel")
            let ack = try node.publish(channel: channel, data: try data(params, body)) { outcome in
                switch outcome {
                case .success(let position):
                    var out = JSONWriter(capacity: 48)
                    Self.publishResult(position, into: &out)
                    respond(Self.result(out.bytes))
                case .failure(let error):
                    respond(Self.error(error))
                }
            }
            guard case .done(let position) = ack else { return .later }
            Self.publishResult(position, into: &out)
        case "broadcast":
            guard let channels = params["channels"]?.arrayValue, !channels.isEmpty else { throw .badRequest }
            BroadcastCollector(node: node).publish(try data(params, body), to: channels, respond: respond)
            return .later
        case "history":
            let channel = try requiredString(params, "channel")
            var since: StreamPosition?
            if let field = params["since"], field != .null {
                guard let object = field.objectValue else { throw .badRequest }
                since = StreamPosition(offset: try uint64(object, "offset"), epoch: try optionalString(object, "epoch"))
            }
            guard let limit = Int(exactly: try int64(params, "limit")) else { throw .badRequest }
            let (publications, position) = try node.history(
                channel: channel, .init(since: since, limit: limit, reverse: try bool(params, "reverse")))
            ReplyEncoder.historyResult(publications, position, into: &out)
        case "history_remove":
            let channel = try requiredString(params, "channel")
            let ack = try node.removeHistory(channel: channel) { outcome in
                switch outcome {
                case .success: respond(Self.result(Array("{}".utf8)))
                case .failure(let error): respond(Self.error(error))
                }
            }
            if ack == .pending { return .later }
            out.appendRaw("{}")
        case "unsubscribe":
            let channel = try requiredString(params, "channel")
            _ = try node.resolve(channel: channel)
            let (user, client) = try target(params)
            node.unsubscribe(user: user, client: client, channel: channel)
            out.appendRaw("{}")
        case "disconnect":
            let (user, client) = try target(params)
            node.disconnect(user: user, client: client, try customDisconnect(params) ?? .forceNoReconnect)
            out.appendRaw("{}")
        case "presence":
            let channel = try presenceChannel(params)
            out.appendRaw("{\"presence\":")
            ReplyEncoder.presenceMap(node.presenceClients(of: channel), into: &out)
            out.appendRaw("}")
        case "presence_stats":
            node.presenceStats(of: try presenceChannel(params)).write(to: &out)
        case "channels":
            let pattern = try optionalString(params, "pattern")
            out.appendRaw("{\"channels\":{")
            var first = true
            for (channel, count) in node.channelCounts().sorted(by: { $0.key < $1.key })
            where pattern.isEmpty || GlobPattern(pattern).matches(channel) {
                if !first { out.appendRaw(",") }
                first = false
                out.appendString(channel)
                out.appendRaw(":{\"num_clients\":")
                out.appendInt(count)
                out.appendRaw("}")
            }
            out.appendRaw("}}")
        case "info":
            let info = node.info()
            out.appendRaw("{\"nodes\":[{\"uid\":")
            out.appendString(node.name)
            out.appendRaw(",\"name\":")
            out.appendString(node.name)
            out.appendRaw(",\"version\":")
            out.appendString(node.version)
            out.appendRaw(",\"num_clients\":")
            out.appendInt(info.numClients)
            out.appendRaw(",\"num_users\":")
            out.appendInt(info.numUsers)
            out.appendRaw(",\"num_channels\":")
            out.appendInt(info.numChannels)
            out.appendRaw(",\"num_subs\":")
            out.appendInt(info.numSubscriptions)
            out.appendRaw(",\"uptime\":")
            out.appendInt(info.uptimeSeconds)
            // Herald: refused tokens and limits hit since start, by kind.
            out.appendRaw(",\"refused\":{")
            for (index, refusal) in node.refusals.snapshot().enumerated() {
                if index > 0 { out.appendRaw(",") }
                out.appendString(refusal.kind)
                out.appendRaw(":")
                out.appendUInt64(refusal.count)
            }
            out.appendRaw("}")
            if let bridge = node.bridge {
                out.appendRaw(",\"kafka\":")
                bridge.status().write(into: &out)
            }
            out.appendRaw("}]}")
        default:
            throw .methodNotFound
        }
        return .now
    }

    // MARK: Parameters

    private func requiredString(_ params: JSONObject, _ key: String) throws(ProtocolError) -> String {
        let value = try optionalString(params, key)
        if value.isEmpty { throw .badRequest }
        return value
    }

    private func optionalString(_ params: JSONObject, _ key: String) throws(ProtocolError) -> String {
        guard let field = params[key] else { return "" }
        if case .null = field { return "" }
        guard let text = field.stringValue else { throw .badRequest }
        return text
    }

    private func uint64(_ params: JSONObject, _ key: String) throws(ProtocolError) -> UInt64 {
        guard let field = params[key], field != .null else { return 0 }
        guard let value = field.uint64Value else { throw .badRequest }
        return value
    }

    private func int64(_ params: JSONObject, _ key: String) throws(ProtocolError) -> Int64 {
        guard let field = params[key], field != .null else { return 0 }
        guard let value = field.int64Value else { throw .badRequest }
        return value
    }

    private func bool(_ params: JSONObject, _ key: String) throws(ProtocolError) -> Bool {
        guard let field = params[key], field != .null else { return false }
        guard let value = field.boolValue else { throw .badRequest }
        return value
    }

    /// The publisher's exact bytes of `data`; required, any JSON value.
    private func data(_ params: JSONObject, _ body: [UInt8]) throws(ProtocolError) -> [UInt8] {
        guard let range = params.rawRange(of: "data") else { throw .badRequest }
        return Array(body[range])
    }

    /// `user` (may be "" for anonymous connections, then `client` is required) and optional `client`.
    private func target(_ params: JSONObject) throws(ProtocolError) -> (String, String?) {
        let user = try optionalString(params, "user")
        let client = try optionalString(params, "client")
        if user.isEmpty && client.isEmpty && params["user"] == nil { throw .badRequest }
        return (user, client.isEmpty ? nil : client)
    }

    private func customDisconnect(_ params: JSONObject) throws(ProtocolError) -> Disconnect? {
        guard let object = params["disconnect"]?.objectValue else { return nil }
        guard let code = object["code"]?.uint64Value, (3000...4999).contains(code) else { throw .badRequest }
        let reason = object["reason"]?.stringValue ?? ""
        guard reason.utf8.count <= 123 else { throw .badRequest }
        return Disconnect(code: Int(code), reason: reason)
    }

    private func presenceChannel(_ params: JSONObject) throws(ProtocolError) -> String {
        let channel = try requiredString(params, "channel")
        let (_, options) = try node.resolve(channel: channel)
        guard options.presence else { throw .notAvailable }
        return channel
    }

    private func failure(status: Int, _ error: ProtocolError, detail: String) -> Response {
        var out = JSONWriter(capacity: 96)
        out.appendRaw("{\"error\":{\"code\":")
        out.appendInt(error.code)
        out.appendRaw(",\"message\":")
        out.appendString("\(error.message): \(detail)")
        out.appendRaw("}}")
        return Response(status: status, body: out.bytes)
    }
}
