/// Every configuration key, once. File keys, environment variable names (`HERALD_` + the path upper-cased,
/// dots as `_`) and unknown-key warnings all come from these lists. Names and defaults of shared keys are
/// Centrifugo v6's (internal/configtypes in centrifugal/centrifugo).
extension HeraldConfig {
    static let keyTable = ConfigKeyTable<HeraldConfig>([
        .init("http_server.address", \.httpServer.address),
        .init("http_server.port", \.httpServer.port),
        .init("http_server.tls.enabled", \.httpServer.tls.enabled),
        .init("http_server.tls.cert_pem_file", \.httpServer.tls.certPEMFile),
        .init("http_server.tls.key_pem_file", \.httpServer.tls.keyPEMFile),
        .init("log.level", \.log.level),
        .init("log.format", \.log.format),
        .init("http_api.key", \.httpAPI.key),
        .init("http_api.insecure", \.httpAPI.insecure),
        .init("client.insecure", \.client.insecure),
        .init("client.allowed_origins", \.client.allowedOrigins),
        .init("client.expired_close_delay", \.client.expiredCloseDelay),
        .init("client.expired_sub_close_delay", \.client.expiredSubCloseDelay),
        .init("client.subscription_token.enabled", \.client.subscriptionToken.enabled),
        .init("client.allow_anonymous_connect_without_token", \.client.allowAnonymousConnectWithoutToken),
        .init("client.ping_interval", \.client.pingInterval),
        .init("client.pong_timeout", \.client.pongTimeout),
        .init("client.channel_limit", \.client.channelLimit),
        .init("client.connection_limit", \.client.connectionLimit),
        .init("client.queue_max_size", \.client.queueMaxSize),
        .init("client.history_max_publication_limit", \.client.historyMaxPublicationLimit),
        .init("client.recovery_max_publication_limit", \.client.recoveryMaxPublicationLimit),
        .init("client.channel_position_check_delay", \.client.channelPositionCheckDelay),
        .init("data_dir", \.dataDir),
        .init("websocket.message_size_limit", \.websocket.messageSizeLimit),
        .init("channel.max_length", \.channel.maxLength),
        .init("channel.private_prefix", \.channel.privatePrefix),
        .init("channel.namespaces", \.channel.namespaces),
        .init("herald.event_loops", \.herald.eventLoops),
        .init("herald.event_backend", \.herald.eventBackend),
        .init("herald.queue_max_messages", \.herald.queueMaxMessages),
        .init("herald.http_api_body_limit", \.herald.httpAPIBodyLimit),
        .init("herald.shutdown_timeout", \.herald.shutdownTimeout),
        .init("herald.connections_per_ip", \.herald.connectionsPerIP),
        .init("herald.command_rate", \.herald.commandRate),
        .init("herald.command_burst", \.herald.commandBurst),
        .init("herald.publish_rate", \.herald.publishRate),
        .init("herald.publish_burst", \.herald.publishBurst),
        .init("kafka.brokers", \.kafka.brokers),
        .init("kafka.librdkafka", \.kafka.librdkafka),
        .init("kafka.bridges", \.kafka.bridges),
        .init("kafka.dead_letter_topic", \.kafka.deadLetterTopic),
        .init("kafka.catch_up_readers", \.kafka.catchUpReaders),
        .init("kafka.catch_up_max_scan", \.kafka.catchUpMaxScan),
        .init("admin.enabled", \.admin.enabled),
        .init("admin.password", \.admin.password),
        .init("admin.secret", \.admin.secret),
        .init("admin.insecure", \.admin.insecure),
    ] + NamespaceOptions.keys.map { $0.nested(under: "channel.without_namespace", at: \.channel.withoutNamespace) }
      + HeraldConfig.Client.Token.keys.map { $0.nested(under: "client.token", at: \.client.token) }
      + HeraldConfig.Client.Token.keys.map { $0.nested(under: "client.subscription_token", at: \.client.subscriptionToken.keys) })
}

extension Namespace {
    /// A `channel.namespaces` entry: `name` beside the options, as Centrifugo has it.
    static let keyTable = ConfigKeyTable<Namespace>(
        [.init("name", \.name)] + NamespaceOptions.keys.map { $0.nested(under: "", at: \.options) })
}

extension KafkaBridgeConfig {
    static let keyTable = ConfigKeyTable<KafkaBridgeConfig>([
        .init("topic", \.topic),
        .init("channel", \.channel),
        .init("data", \.data),
        .init("start", \.start),
    ])
}

extension HeraldConfig.Client.Token {
    static let keys: [ConfigKey<Self>] = [
        .init("hmac_secret_key", \.hmacSecretKey),
        .init("rsa_public_key", \.rsaPublicKey),
        .init("ecdsa_public_key", \.ecdsaPublicKey),
        .init("jwks_file", \.jwksFile),
        .init("audience", \.audience),
        .init("issuer", \.issuer),
    ]
}

extension NamespaceOptions {
    static let keys: [ConfigKey<NamespaceOptions>] = [
        .init("presence", \.presence),
        .init("join_leave", \.joinLeave),
        .init("force_push_join_leave", \.forcePushJoinLeave),
        .init("history_size", \.historySize),
        .init("history_ttl", \.historyTTL),
        .init("force_recovery", \.forceRecovery),
        .init("force_recovery_mode", \.forceRecoveryMode),
        .init("force_positioning", \.forcePositioning),
        .init("allowed_delta_types", \.allowedDeltaTypes),
        .init("history_max_bytes", \.historyMaxBytes),
        .init("durable", \.durable),
        .init("allow_subscribe_for_client", \.allowSubscribeForClient),
        .init("allow_subscribe_for_anonymous", \.allowSubscribeForAnonymous),
        .init("allow_publish_for_client", \.allowPublishForClient),
        .init("allow_publish_for_subscriber", \.allowPublishForSubscriber),
        .init("allow_publish_for_anonymous", \.allowPublishForAnonymous),
        .init("allow_presence_for_client", \.allowPresenceForClient),
        .init("allow_presence_for_subscriber", \.allowPresenceForSubscriber),
        .init("allow_presence_for_anonymous", \.allowPresenceForAnonymous),
        .init("allow_history_for_client", \.allowHistoryForClient),
        .init("allow_history_for_subscriber", \.allowHistoryForSubscriber),
        .init("allow_history_for_anonymous", \.allowHistoryForAnonymous),
        .init("allow_user_limited_channels", \.allowUserLimitedChannels),
    ]
}
