/// Herald's configuration, shaped like Centrifugo v6's config file: each section here is the JSON/YAML
/// object of the same name (`http_server`, `client`, ...), and every key Herald shares with Centrifugo keeps
/// Centrifugo's name and secure default. The property initializers are the defaults
/// (`HeraldConfig.secureDefaults`); `ConfigKeys.swift` maps file keys to properties.
public struct HeraldConfig: Sendable, Equatable {
    public var httpServer = HTTPServer()
    public var log = Log()
    public var httpAPI = HTTPAPI()
    public var client = Client()
    public var websocket = WebSocket()
    public var channel = Channel()
    public var herald = Herald()
    public var kafka = Kafka()
    public var admin = Admin()
    /// `data_dir` (Herald; `HERALD_DATA_DIR`): where the durable log lives, "./data".
    public var dataDir = "./data"
    /// Set only by `.development` (no configuration file); not a file key.
    public var developmentMode = false

    public init() {}

    /// `http_server`.
    public struct HTTPServer: Sendable, Equatable {
        /// `address`: interface to listen on; "" (default) means all interfaces.
        public var address = ""
        /// `port`: 8000; 1...65535.
        public var port = 8000
        /// `tls`: off; when enabled, every connection on the port is TLS (WebSocket, API and health).
        public var tls = TLS()

        /// `http_server.tls`, Centrifugo v6's TLSConfig keys for a certificate and key in PEM files.
        public struct TLS: Sendable, Equatable {
            /// `enabled`: false.
            public var enabled = false
            /// `cert_pem_file`: the certificate chain, server certificate first; read again on SIGHUP.
            public var certPEMFile = ""
            /// `key_pem_file`: the certificate's private key; read again on SIGHUP.
            public var keyPEMFile = ""
        }
    }

    /// `admin`: the web console at `/admin` (Centrifugo v6's keys). Off unless enabled.
    public struct Admin: Sendable, Equatable {
        /// `enabled`: false; true serves the console and accepts admin tokens.
        public var enabled = false
        /// `password`: what `POST /admin/auth` must be given for an admin token; needed unless `insecure`.
        public var password = ""
        /// `secret`: the HMAC secret admin tokens are signed with (HS256); needed unless `insecure`.
        public var secret = ""
        /// `insecure`: false; true hands an admin token to anyone who asks, without a password. Local use only.
        public var insecure = false
    }

    /// `log`.
    public struct Log: Sendable, Equatable {
        /// `level`: "info"; one of trace, debug, info, warn (or warning), error, none; any case.
        public var level = "info"
        /// `format` (Herald): "text" (default), one readable line per event; "json", one JSON object per line
        /// for log collectors.
        public var format = "text"
    }

    /// `http_api`: the server API.
    public struct HTTPAPI: Sendable, Equatable {
        /// `key`: "" (default) means no key is accepted, so the API refuses every request unless `insecure`.
        public var key = ""
        /// `insecure`: false; true serves the API without a key.
        public var insecure = false
    }

    /// `client`: real-time client connections.
    public struct Client: Sendable, Equatable {
        /// `insecure`: false; true allows every connect, subscribe, publish and presence request, anonymous
        /// included.
        public var insecure = false
        /// `allowed_origins`: [] (only same-origin browsers); patterns like "https://*.example.com", "*" for any.
        /// Requests without an Origin header (not from a browser page) are always allowed.
        public var allowedOrigins: [String] = []
        /// `token`.
        public var token = Token()
        /// `allow_anonymous_connect_without_token`: false.
        public var allowAnonymousConnectWithoutToken = false
        /// `ping_interval`: 25 s between server pings; zero or negative (Centrifugo's `-1`) disables them.
        public var pingInterval: Duration = .seconds(25)
        /// `pong_timeout`: 8 s for the client's pong after a ping; zero or negative disables the check.
        public var pongTimeout: Duration = .seconds(8)
        /// `channel_limit`: 128 subscriptions per connection; 0 means no limit.
        public var channelLimit = 128
        /// `connection_limit`: 0 (no limit) connections on this node.
        public var connectionLimit = 0
        /// `queue_max_size`: 1048576 bytes (1 MiB) queued for one connection before it is disconnected as slow.
        public var queueMaxSize = 1_048_576
        /// `history_max_publication_limit`: 300 publications at most in one client `history` reply.
        public var historyMaxPublicationLimit = 300
        /// `recovery_max_publication_limit`: 300; a client that missed more is answered `recovered: false`.
        public var recoveryMaxPublicationLimit = 300
        /// `channel_position_check_delay`: 40 s between checks of positioned subscriptions' epochs.
        public var channelPositionCheckDelay: Duration = .seconds(40)

        /// `expired_close_delay`: 25 s of grace after a connection's token expires, for the SDK's refresh,
        /// before it is closed with 3005.
        public var expiredCloseDelay: Duration = .seconds(25)
        /// `expired_sub_close_delay`: the same for a subscription's token; then unsubscribe 2501.
        public var expiredSubCloseDelay: Duration = .seconds(25)
        /// `subscription_token`: the keys of subscription tokens, when they differ from connection tokens'.
        public var subscriptionToken = SubscriptionToken()

        /// `client.token`: the keys a connection token (and, unless `subscription_token.enabled`, a
        /// subscription token) may be signed with. With none set, tokens are refused.
        public struct Token: Sendable, Equatable {
            /// `hmac_secret_key`: "" (default) means HMAC-signed tokens (HS256/384/512) are not accepted.
            public var hmacSecretKey = ""
            /// `rsa_public_key`: a PEM public key, or a file holding one, for RS256/384/512.
            public var rsaPublicKey = ""
            /// `ecdsa_public_key`: a PEM public key (P-256 or P-384), or a file holding one, for ES256/384.
            public var ecdsaPublicKey = ""
            /// `jwks_file` (Herald): a JSON Web Key Set file; a token's `kid` picks its key.
            public var jwksFile = ""
            /// `audience`, `issuer`: when set, a token's `aud` must contain it, its `iss` must equal it.
            public var audience = ""
            public var issuer = ""

            public init() {}

            /// Whether any key is configured.
            public var hasKeys: Bool { !(hmacSecretKey.isEmpty && rsaPublicKey.isEmpty && ecdsaPublicKey.isEmpty && jwksFile.isEmpty) }
        }

        /// `client.subscription_token`.
        public struct SubscriptionToken: Sendable, Equatable {
            /// `enabled`: false checks subscription tokens with `client.token`'s keys; true with these.
            public var enabled = false
            public var keys = Token()
        }
    }

    /// `websocket`.
    public struct WebSocket: Sendable, Equatable {
        /// `message_size_limit`: 65536 bytes for one incoming WebSocket message.
        public var messageSizeLimit = 65_536
    }

    /// `channel`.
    public struct Channel: Sendable, Equatable {
        /// `max_length`: 255 bytes of channel name.
        public var maxLength = 255
        /// `private_prefix`: "$"; channels starting with it need a subscription token, whatever the
        /// namespace allows. "" turns private channels off.
        public var privatePrefix = "$"
        /// `without_namespace`: options of channels with no `namespace:` prefix; all off.
        public var withoutNamespace = NamespaceOptions()
        /// `namespaces`: []; a channel `name:rest` must match one of these, or it is unknown.
        public var namespaces: [Namespace] = []
    }

    /// `herald`: options Centrifugo does not have.
    public struct Herald: Sendable, Equatable {
        /// `event_loops`: 0 means one per CPU core.
        public var eventLoops = 0
        /// `event_backend`: how each loop waits for sockets, "libev" (epoll) or "poll" (libwebsockets' own).
        public var eventBackend = "libev"
        /// `queue_max_messages`: 16384 messages queued for one connection, alongside `client.queue_max_size`.
        public var queueMaxMessages = 16_384
        /// `http_api_body_limit`: 1048576 bytes (1 MiB) of server API request body.
        public var httpAPIBodyLimit = 1_048_576
        /// `shutdown_timeout`: 5 s for connections to drain on shutdown.
        public var shutdownTimeout: Duration = .seconds(5)
        /// `connections_per_ip`: 0 (no limit) client connections (WebSocket, data streams) from one client address; more are refused
        /// with HTTP 429. Behind a proxy every client has the proxy's address: leave it 0 there.
        public var connectionsPerIP = 0
        /// `command_rate`: 0 (no limit) commands a second per connection, with bursts of `command_burst`
        /// (200); a command over it is answered with error 111, and a connection that keeps sending after
        /// `command_burst` such answers is closed with 3013.
        public var commandRate = 0
        public var commandBurst = 200
        /// `publish_rate`: 0 (no limit) client publications a second per connection, bursts of
        /// `publish_burst` (20); over it, error 111.
        public var publishRate = 0
        public var publishBurst = 20
    }
}

extension HeraldConfig {
    /// The options of `namespace` as `ChannelName.namespace` gives it: "" is `channel.without_namespace`,
    /// nil means the namespace is not configured. A linear search: configurations have few namespaces.
    public func namespace(named namespace: String) -> NamespaceOptions? {
        if namespace.isEmpty { return channel.withoutNamespace }
        return channel.namespaces.first { $0.name == namespace }?.options
    }
}
