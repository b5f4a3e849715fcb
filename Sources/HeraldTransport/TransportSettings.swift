import FoundationEssentials
import HeraldCore

/// The transport's bounds, read once from `HeraldConfig`.
public struct TransportSettings: Sendable {
    /// `http_server.address` and `http_server.port`.
    public var address: String
    public var port: Int
    /// `http_server.tls` when enabled: every connection is then TLS, terminated by libwebsockets.
    public var tls: HeraldConfig.HTTPServer.TLS?
    /// `herald.event_loops`; at least 1.
    public var eventLoops: Int
    /// `herald.event_backend`.
    public var eventBackend: EventBackend
    /// `websocket.message_size_limit`: larger incoming messages close the connection with 1009.
    public var messageSizeLimit: Int
    /// `client.queue_max_size` and `herald.queue_max_messages`: a connection's outgoing queue bound.
    public var queueMaxBytes: Int
    public var queueMaxMessages: Int
    /// `client.connection_limit`: client connections (WebSocket, data streams) on this node; 0 means no limit.
    public var connectionLimit: Int
    /// `herald.connections_per_ip`: client connections (WebSocket, data streams) from one address; 0 means no limit.
    public var connectionsPerIP: Int
    /// `herald.http_api_body_limit`: larger API bodies are refused with 413.
    public var apiBodyLimit: Int
    /// `herald.shutdown_timeout`, in milliseconds.
    public var shutdownTimeoutMs: Int
    /// `client.allowed_origins`: browser pages allowed to open a WebSocket.
    public var origins: OriginPolicy

    /// Bytes lws hands the callback per read; client commands are small, publications never come in here.
    static let receiveChunkSize = 1024
    /// Most bytes one `send()` is given: queued frames are gathered up to this size.
    static let sendChunkSize = 64 * 1024
}

extension TransportSettings {
    public init(config: HeraldConfig) {
        address = config.httpServer.address
        port = config.httpServer.port
        tls = config.httpServer.tls.enabled ? config.httpServer.tls : nil
        let loops = config.herald.eventLoops
        eventLoops = loops > 0 ? loops : max(1, ProcessInfo.processInfo.activeProcessorCount)
        eventBackend = config.herald.eventBackend == "poll" ? .poll : .libev
        messageSizeLimit = config.websocket.messageSizeLimit
        queueMaxBytes = config.client.queueMaxSize
        queueMaxMessages = config.herald.queueMaxMessages
        origins = OriginPolicy(allowedOrigins: config.client.allowedOrigins)
        connectionLimit = config.client.connectionLimit
        connectionsPerIP = config.herald.connectionsPerIP
        apiBodyLimit = config.herald.httpAPIBodyLimit
        shutdownTimeoutMs = Int(config.herald.shutdownTimeout.milliseconds)
    }
}
