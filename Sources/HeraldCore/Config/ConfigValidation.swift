extension HeraldConfig {
    /// Refuses values Herald cannot run with; the error names the key. Types were checked while loading.
    public func validate() throws(ConfigError) {
        guard (1...65_535).contains(httpServer.port) else {
            throw ConfigError("http_server.port", "must be between 1 and 65535, got \(httpServer.port)")
        }
        if httpServer.tls.enabled { try httpServer.tls.checkFiles() }
        guard ["text", "json"].contains(log.format) else {
            throw ConfigError("log.format", "unknown format \"\(log.format)\" (use text or json)")
        }
        guard Self.logLevels.contains(log.level.lowercased()) else {
            throw ConfigError("log.level", "unknown level \"\(log.level)\" (use trace, debug, info, warn, error or none)")
        }
        try Self.require(client.channelLimit, atLeast: 0, "client.channel_limit")
        try Self.require(client.connectionLimit, atLeast: 0, "client.connection_limit")
        // Buffers and names need a positive bound: 0 would refuse everything, not mean "no limit".
        try Self.require(client.queueMaxSize, atLeast: 1, "client.queue_max_size")
        try Self.require(websocket.messageSizeLimit, atLeast: 1, "websocket.message_size_limit")
        try Self.require(channel.maxLength, atLeast: 1, "channel.max_length")
        try Self.require(client.historyMaxPublicationLimit, atLeast: 1, "client.history_max_publication_limit")
        try Self.require(client.recoveryMaxPublicationLimit, atLeast: 1, "client.recovery_max_publication_limit")
        if dataDir.isEmpty { throw ConfigError("data_dir", "must not be empty") }
        try Self.require(herald.eventLoops, atLeast: 0, "herald.event_loops")
        guard ["libev", "poll"].contains(herald.eventBackend) else {
            throw ConfigError("herald.event_backend", "unknown backend \"\(herald.eventBackend)\" (use libev or poll)")
        }
        try Self.require(herald.queueMaxMessages, atLeast: 1, "herald.queue_max_messages")
        try Self.require(herald.httpAPIBodyLimit, atLeast: 1, "herald.http_api_body_limit")
        try Self.require(herald.connectionsPerIP, atLeast: 0, "herald.connections_per_ip")
        try Self.require(herald.commandRate, atLeast: 0, "herald.command_rate")
        try Self.require(herald.commandBurst, atLeast: 1, "herald.command_burst")
        try Self.require(herald.publishRate, atLeast: 0, "herald.publish_rate")
        try Self.require(herald.publishBurst, atLeast: 1, "herald.publish_burst")
        if herald.shutdownTimeout < .zero {
            throw ConfigError("herald.shutdown_timeout", "must not be negative")
        }
        // Centrifugo's rule: the pong must be due before the next ping.
        if client.pingInterval > .zero, client.pongTimeout > .zero, client.pongTimeout >= client.pingInterval {
            throw ConfigError("client.pong_timeout", "must be less than client.ping_interval")
        }

        try channel.withoutNamespace.validate(at: "channel.without_namespace")
        var seen: Set<String> = []
        for (index, namespace) in channel.namespaces.enumerated() {
            let path = "channel.namespaces[\(index)]"
            guard Self.isValidNamespaceName(namespace.name) else {
                throw ConfigError(path + ".name", "invalid namespace name \"\(namespace.name)\" (must match ^[-a-zA-Z0-9_.]{2,}$)")
            }
            guard seen.insert(namespace.name).inserted else {
                throw ConfigError(path + ".name", "duplicate namespace name \"\(namespace.name)\"")
            }
            try namespace.options.validate(at: path)
        }
        try validateKafka()
        try validateAdmin()
    }

    /// The console needs a password to log in with and a secret to sign its tokens, unless it is insecure.
    /// Its secret must not be a client token secret: a client token with `admin: true` would be an admin's.
    private func validateAdmin() throws(ConfigError) {
        guard admin.enabled else { return }
        if !admin.insecure {
            for (key, value) in [("admin.password", admin.password), ("admin.secret", admin.secret)] where value.isEmpty {
                throw ConfigError(key, "must be set when admin.enabled is true (or admin.insecure, for local use only)")
            }
        }
        if !admin.secret.isEmpty,
           [client.token.hmacSecretKey, client.subscriptionToken.keys.hmacSecretKey].contains(admin.secret) {
            throw ConfigError("admin.secret", "must differ from the client token secrets")
        }
    }

    /// Centrifugo's levels; "warning" is accepted too. "none" turns logging off.
    private static let logLevels: Set<String> = ["trace", "debug", "info", "warn", "warning", "error", "none"]

    private static func require(_ value: Int, atLeast minimum: Int, _ path: String) throws(ConfigError) {
        if value < minimum {
            throw ConfigError(path, minimum == 0 ? "must not be negative, got \(value)" : "must be positive, got \(value)")
        }
    }

    /// Centrifugo's `^[-a-zA-Z0-9_.]{2,}$`.
    private static func isValidNamespaceName(_ name: String) -> Bool {
        name.utf8.count >= 2 && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                true
            default:
                false
            }
        }
    }
}

extension NamespaceOptions {
    /// Centrifugo's checks of channel options; `path` is the options' object.
    func validate(at path: String) throws(ConfigError) {
        if historySize < 0 { throw ConfigError(path + ".history_size", "must not be negative, got \(historySize)") }
        if historyTTL < .zero { throw ConfigError(path + ".history_ttl", "must not be negative") }
        if (historySize == 0) != (historyTTL == .zero) {
            throw ConfigError(path, "history_size and history_ttl must be set together")
        }
        for (key, isSet) in [("force_recovery", forceRecovery), ("force_positioning", forcePositioning),
                             ("durable", durable != .none),
                             ("history_max_bytes", historyMaxBytes != 0)] where isSet && !hasHistory {
            throw ConfigError(path + "." + key, "needs history_size and history_ttl")
        }
        if historyMaxBytes < 0 { throw ConfigError(path + ".history_max_bytes", "must not be negative") }
        for type in allowedDeltaTypes where type != "fossil" {
            throw ConfigError(path + ".allowed_delta_types", "unknown delta type \"\(type)\" (only \"fossil\")")
        }
    }
}
