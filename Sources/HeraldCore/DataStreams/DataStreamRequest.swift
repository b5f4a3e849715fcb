/// A request for a data stream, checked as a WebSocket client's connect and subscribe would be:
/// `GET /connection/sse?channel=a&channel=b` (Server-Sent Events) or an upgrade to `/ws/CHANNEL` (raw
/// WebSocket, read-only). Parameters: `since` (positions as `EventStreamID`; for SSE the `Last-Event-ID`
/// header wins, since a reconnecting `EventSource` sends the URL it started with) and `token` (a connection
/// token; an `Authorization: Bearer` header also carries one).
///
/// Refusals are HTTP statuses with a message: 400 (parameters), 401 (token), 403 (permission), 404 (no
/// such namespace).
public struct DataStreamRequest: Sendable {
    public enum Format: Sendable {
        case eventStream
        case webSocket
    }

    public static let eventStreamPath = "/connection/sse"
    public static let webSocketPathPrefix = "/ws/"
    /// Channels one stream may name, when `client.channel_limit` sets no lower bound.
    static let maxChannels = 64

    public let format: Format
    let channels: [String]
    let options: [NamespaceOptions]
    let since: [StreamPosition?]
    let user: String

    /// The stream a request path asks for, if any.
    public static func format(ofPath path: String) -> Format? {
        if path == eventStreamPath { return .eventStream }
        if path.hasPrefix(webSocketPathPrefix) { return .webSocket }
        return nil
    }

    /// `query`: the decoded query parameters in order.
    public init(path: String, query: [(name: String, value: String)], lastEventID: String?,
                authorization: String?, node: Node) throws(HTTPError) {
        guard let format = Self.format(ofPath: path) else { throw HTTPError(status: 404, message: "not found") }
        self.format = format
        let channels = format == .eventStream
            ? query.filter { $0.name == "channel" }.map(\.value)
            : [String(path.dropFirst(Self.webSocketPathPrefix.count))]
        let settings = node.sessionSettings
        let limit = settings.channelLimit > 0 ? min(settings.channelLimit, Self.maxChannels) : Self.maxChannels
        guard !channels.isEmpty, !channels.contains("") else {
            throw HTTPError(status: 400, message: format == .eventStream
                                ? "name the channels: ?channel=NAME (repeat for more)" : "name the channel: /ws/NAME")
        }
        guard channels.count <= limit else { throw HTTPError(status: 400, message: "at most \(limit) channels per stream") }
        guard Set(channels).count == channels.count else { throw HTTPError(status: 400, message: "a channel is named twice") }
        self.channels = channels

        let bearer = authorization.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let token = try Self.verify(bearer ?? query.first { $0.name == "token" }?.value, node: node)
        user = token?.user ?? ""
        let serverSide = Set(token?.channels ?? [])

        var options: [NamespaceOptions] = []
        for channel in channels {
            let (name, namespace): (ChannelName, NamespaceOptions)
            do {
                (name, namespace) = try node.resolve(channel: channel)
            } catch .unknownChannel {
                throw HTTPError(status: 404, message: "no namespace for channel \(channel.prefix(100))")
            } catch {
                throw HTTPError(status: 400, message: "bad channel name \(channel.prefix(100)) (\(error.message))")
            }
            // A token's `channels` are its server-side subscriptions: granted as at a WebSocket connect.
            guard settings.insecure || serverSide.contains(channel)
                || SubscribeRule.admits(user: user, to: name, namespace, hasSubscriptionToken: false) else {
                node.refusals.count("stream_permission")
                throw HTTPError(status: 403, message: "permission denied for channel \(channel.prefix(100))")
            }
            options.append(namespace)
        }
        self.options = options

        let positions = (format == .eventStream ? lastEventID : nil) ?? query.first { $0.name == "since" }?.value
        let given = try positions.map { text throws(HTTPError) in try EventStreamID.parse(text, channelCount: channels.count) }
            ?? Array(repeating: nil, count: channels.count)
        // A channel without history has no position, whatever a client says.
        since = zip(given, options).map { $1.hasHistory ? $0 : nil }
    }

    /// The connection token's claims; nil for an anonymous stream, which needs
    /// `client.allow_anonymous_connect_without_token` (or `client.insecure`) as an anonymous WebSocket does.
    private static func verify(_ token: String?, node: Node) throws(HTTPError) -> ConnectionToken? {
        let settings = node.sessionSettings
        guard let token, !token.isEmpty else {
            guard settings.insecure || settings.anonymousConnect else {
                throw HTTPError(status: 401, message: "a connection token is required (token parameter or Authorization: Bearer)")
            }
            return nil
        }
        guard let verifier = settings.tokens.connection else {
            if settings.insecure { return nil }
            node.refusals.count(TokenRefusal.unknownKey.rawValue)
            throw HTTPError(status: 401, message: "invalid token")
        }
        do throws(TokenRefusal) {
            let claims = try ConnectionToken(verifier.verify(token, now: wallSeconds()).get())
            if let expiresAt = claims.expiresAt, expiresAt <= wallSeconds() { throw .expired }
            return claims
        } catch {
            node.refusals.count(error.rawValue)
            throw HTTPError(status: 401, message: error.isTimely ? "token expired" : "invalid token")
        }
    }
}
