/// The configuration a session consults on every command, read once from `HeraldConfig` into plain numbers.
struct SessionSettings: Sendable {
    /// `client.insecure`: every connection, subscription, publication and presence request is allowed.
    var insecure: Bool
    /// `client.allow_anonymous_connect_without_token`.
    var anonymousConnect: Bool
    /// `client.ping_interval`; 0 disables server pings.
    var pingIntervalMs: Milliseconds
    /// `client.pong_timeout`: how long after a ping the client's pong may take.
    var pongTimeoutMs: Milliseconds
    /// `client.channel_limit`: subscriptions per connection.
    var channelLimit: Int
    /// How long a new connection may take to send `connect` before it is closed as stale (Centrifugo's
    /// `client.stale_close_delay`, 10 s).
    var connectTimeoutMs: Milliseconds
    /// `client.history_max_publication_limit`, `client.recovery_max_publication_limit`.
    var historyMaxPublicationLimit: Int
    var recoveryMaxPublicationLimit: Int
    /// `client.queue_max_size`: a recovery reply may take half of it.
    var queueMaxSize: Int
    /// `client.channel_position_check_delay`; 0 disables position checks.
    var positionCheckDelayMs: Milliseconds
    /// The keys connection and subscription tokens are checked with.
    var tokens: TokenAuthority
    /// `client.expired_close_delay`, `client.expired_sub_close_delay`: grace after a token expires.
    var expiredCloseDelayMs: Milliseconds
    var expiredSubCloseDelayMs: Milliseconds
    /// `herald.command_rate` / `command_burst`, `herald.publish_rate` / `publish_burst`; rate 0: no limit.
    var commandRate: Int
    var commandBurst: Int
    var publishRate: Int
    var publishBurst: Int
}

extension SessionSettings {
    init(config: HeraldConfig, tokens: TokenAuthority) {
        insecure = config.client.insecure
        anonymousConnect = config.client.allowAnonymousConnectWithoutToken
        pingIntervalMs = config.client.pingInterval.milliseconds
        pongTimeoutMs = config.client.pongTimeout.milliseconds
        channelLimit = config.client.channelLimit
        connectTimeoutMs = 10_000
        historyMaxPublicationLimit = config.client.historyMaxPublicationLimit
        recoveryMaxPublicationLimit = config.client.recoveryMaxPublicationLimit
        queueMaxSize = config.client.queueMaxSize
        positionCheckDelayMs = config.client.channelPositionCheckDelay.milliseconds
        self.tokens = tokens
        expiredCloseDelayMs = config.client.expiredCloseDelay.milliseconds
        expiredSubCloseDelayMs = config.client.expiredSubCloseDelay.milliseconds
        commandRate = config.herald.commandRate
        commandBurst = config.herald.commandBurst
        publishRate = config.herald.publishRate
        publishBurst = config.herald.publishBurst
    }
}

extension Duration {
    /// Whole milliseconds; zero and negative durations (Centrifugo's "disabled") give 0.
    public var milliseconds: Milliseconds {
        let (seconds, attoseconds) = components
        guard seconds >= 0, self > .zero else { return 0 }
        return Milliseconds(seconds) * 1000 + Milliseconds(attoseconds / 1_000_000_000_000_000)
    }
}
