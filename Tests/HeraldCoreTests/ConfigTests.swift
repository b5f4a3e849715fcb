import Foundation
import XCTest
@testable import HeraldCore

final class ConfigTests: XCTestCase {
    private var temporaryFiles: [String] = []

    override func tearDown() {
        for file in temporaryFiles { try? FileManager.default.removeItem(atPath: file) }
        temporaryFiles = []
        super.tearDown()
    }

    private func write(_ text: String, extension pathExtension: String = "json") throws -> String {
        let name = "herald-config-\(UUID().uuidString)" + (pathExtension.isEmpty ? "" : "." + pathExtension)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        temporaryFiles.append(path)
        return path
    }

    private func load(_ text: String, extension pathExtension: String = "json", environment: [String: String] = [:],
                      overrides: ConfigOverrides = ConfigOverrides()) throws -> (config: HeraldConfig, warnings: [String]) {
        try ConfigLoader.load(file: write(text, extension: pathExtension), environment: environment, overrides: overrides)
    }

    private func assertError(_ text: String, extension pathExtension: String = "json", environment: [String: String] = [:],
                             _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try write(text, extension: pathExtension)
        do {
            let loaded = try ConfigLoader.load(file: path, environment: environment, overrides: ConfigOverrides())
            XCTFail("loaded \(loaded.config), expected \(expected)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.description, expected, file: file, line: line)
        }
    }

    // MARK: Defaults and presets

    func testSecureDefaultsAreCentrifugos() {
        let config = HeraldConfig.secureDefaults
        XCTAssertEqual(config.httpServer.address, "")
        XCTAssertEqual(config.httpServer.port, 8000)
        XCTAssertEqual(config.log.level, "info")
        XCTAssertEqual(config.httpAPI.key, "")
        XCTAssertFalse(config.httpAPI.insecure)
        XCTAssertFalse(config.client.insecure)
        XCTAssertEqual(config.client.allowedOrigins, [])
        XCTAssertEqual(config.client.token.hmacSecretKey, "")
        XCTAssertFalse(config.client.allowAnonymousConnectWithoutToken)
        XCTAssertEqual(config.client.pingInterval, .seconds(25))
        XCTAssertEqual(config.client.pongTimeout, .seconds(8))
        XCTAssertEqual(config.client.channelLimit, 128)
        XCTAssertEqual(config.client.connectionLimit, 0)
        XCTAssertEqual(config.client.queueMaxSize, 1_048_576)
        XCTAssertEqual(config.websocket.messageSizeLimit, 65_536)
        XCTAssertEqual(config.channel.maxLength, 255)
        XCTAssertEqual(config.channel.withoutNamespace, NamespaceOptions())
        XCTAssertEqual(config.channel.namespaces, [])
        XCTAssertEqual(config.herald.eventLoops, 0)
        XCTAssertEqual(config.herald.queueMaxMessages, 16_384)
        XCTAssertEqual(config.herald.httpAPIBodyLimit, 1_048_576)
        XCTAssertEqual(config.herald.shutdownTimeout, .seconds(5))
        XCTAssertFalse(config.developmentMode)
        XCTAssertNoThrow(try config.validate())
    }

    func testNoFileMeansDevelopment() throws {
        let (config, warnings) = try ConfigLoader.load(file: nil, environment: [:], overrides: ConfigOverrides())
        XCTAssertEqual(config, .development)
        XCTAssertEqual(warnings, [
            "no configuration file: development mode, anonymous access and client publishing allowed, do not use in production",
        ])
        XCTAssertTrue(config.developmentMode)
        XCTAssertTrue(config.client.insecure)
        XCTAssertTrue(config.httpAPI.insecure)
        XCTAssertTrue(config.channel.withoutNamespace.presence)
    }

    func testEnvironmentAndFlagsApplyInDevelopmentMode() throws {
        let (config, _) = try ConfigLoader.load(
            file: nil, environment: ["HERALD_HTTP_SERVER_PORT": "9000", "HERALD_LOG_LEVEL": "debug"],
            overrides: ConfigOverrides(address: "127.0.0.1"))
        XCTAssertTrue(config.developmentMode)
        XCTAssertEqual(config.httpServer.port, 9000)
        XCTAssertEqual(config.httpServer.address, "127.0.0.1")
        XCTAssertEqual(config.log.level, "debug")
    }

    func testFileStartsFromSecureDefaults() throws {
        let (config, warnings) = try load("{}")
        XCTAssertEqual(config, .secureDefaults)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(try load("", extension: "yaml").config, .secureDefaults)
    }

    func testNamespaceLookup() {
        var config = HeraldConfig.secureDefaults
        config.channel.withoutNamespace.presence = true
        var chat = NamespaceOptions()
        chat.joinLeave = true
        config.channel.namespaces = [Namespace(name: "chat", options: chat)]
        XCTAssertEqual(config.namespace(named: "")?.presence, true)
        XCTAssertEqual(config.namespace(named: "chat"), chat)
        XCTAssertNil(config.namespace(named: "news"))
    }

    // MARK: Files

    private let fullJSON = """
        {
          "http_server": { "address": "10.0.0.1", "port": 8080 },
          "log": { "level": "warn" },
          "http_api": { "key": "api-key", "insecure": false },
          "client": {
            "insecure": false,
            "allowed_origins": ["https://example.com", "https://*.example.org"],
            "token": { "hmac_secret_key": "secret" },
            "allow_anonymous_connect_without_token": true,
            "ping_interval": "20s",
            "pong_timeout": "500ms",
            "channel_limit": 64,
            "connection_limit": 10000,
            "queue_max_size": 2097152
          },
          "websocket": { "message_size_limit": 4096 },
          "channel": {
            "max_length": 128,
            "without_namespace": { "presence": true, "allow_subscribe_for_client": true },
            "namespaces": [
              {
                "name": "chat",
                "presence": true,
                "join_leave": true,
                "force_push_join_leave": true,
                "history_size": 10,
                "history_ttl": "300s",
                "force_recovery": true,
                "allow_subscribe_for_client": true,
                "allow_subscribe_for_anonymous": true,
                "allow_publish_for_client": true,
                "allow_publish_for_subscriber": true,
                "allow_publish_for_anonymous": true,
                "allow_presence_for_client": true,
                "allow_presence_for_subscriber": true,
                "allow_presence_for_anonymous": true,
                "allow_history_for_client": true,
                "allow_history_for_subscriber": true,
                "allow_history_for_anonymous": true,
                "allow_user_limited_channels": true
              },
              { "name": "news.v2" }
            ]
          },
          "herald": {
            "event_loops": 4,
            "queue_max_messages": 1000,
            "http_api_body_limit": 65536,
            "shutdown_timeout": "1m30s"
          }
        }
        """

    private var fullConfig: HeraldConfig {
        var config = HeraldConfig.secureDefaults
        config.httpServer = .init(address: "10.0.0.1", port: 8080)
        config.log.level = "warn"
        config.httpAPI.key = "api-key"
        config.client.allowedOrigins = ["https://example.com", "https://*.example.org"]
        config.client.token.hmacSecretKey = "secret"
        config.client.allowAnonymousConnectWithoutToken = true
        config.client.pingInterval = .seconds(20)
        config.client.pongTimeout = .milliseconds(500)
        config.client.channelLimit = 64
        config.client.connectionLimit = 10_000
        config.client.queueMaxSize = 2_097_152
        config.websocket.messageSizeLimit = 4096
        config.channel.maxLength = 128
        config.channel.withoutNamespace.presence = true
        config.channel.withoutNamespace.allowSubscribeForClient = true
        var chat = NamespaceOptions()
        chat.presence = true
        chat.joinLeave = true
        chat.forcePushJoinLeave = true
        chat.historySize = 10
        chat.historyTTL = .seconds(300)
        chat.forceRecovery = true
        chat.allowSubscribeForClient = true
        chat.allowSubscribeForAnonymous = true
        chat.allowPublishForClient = true
        chat.allowPublishForSubscriber = true
        chat.allowPublishForAnonymous = true
        chat.allowPresenceForClient = true
        chat.allowPresenceForSubscriber = true
        chat.allowPresenceForAnonymous = true
        chat.allowHistoryForClient = true
        chat.allowHistoryForSubscriber = true
        chat.allowHistoryForAnonymous = true
        chat.allowUserLimitedChannels = true
        config.channel.namespaces = [Namespace(name: "chat", options: chat), Namespace(name: "news.v2")]
        config.herald = .init(eventLoops: 4, queueMaxMessages: 1000, httpAPIBodyLimit: 65536, shutdownTimeout: .seconds(90))
        return config
    }

    func testJSONFileSetsEveryKey() throws {
        let (config, warnings) = try load(fullJSON)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(config, fullConfig)
    }

    func testYAMLFileSetsEveryKey() throws {
        let yaml = """
            http_server:
              address: 10.0.0.1
              port: 8080
            log:
              level: warn
            http_api:
              key: api-key
              insecure: false
            client:
              insecure: false
              allowed_origins:
                - https://example.com
                - "https://*.example.org"
              token:
                hmac_secret_key: secret
              allow_anonymous_connect_without_token: true
              ping_interval: 20s
              pong_timeout: 500ms
              channel_limit: 64
              connection_limit: 10000
              queue_max_size: 2097152
            websocket:
              message_size_limit: 4096
            channel:
              max_length: 128
              without_namespace: { presence: true, allow_subscribe_for_client: true }
              namespaces:
                - name: chat
                  presence: true
                  join_leave: true
                  force_push_join_leave: true
                  history_size: 10
                  history_ttl: 300   # plain numbers are seconds
                  force_recovery: true
                  allow_subscribe_for_client: true
                  allow_subscribe_for_anonymous: true
                  allow_publish_for_client: true
                  allow_publish_for_subscriber: true
                  allow_publish_for_anonymous: true
                  allow_presence_for_client: true
                  allow_presence_for_subscriber: true
                  allow_presence_for_anonymous: true
                  allow_history_for_client: true
                  allow_history_for_subscriber: true
                  allow_history_for_anonymous: true
                  allow_user_limited_channels: true
                - name: news.v2
            herald:
              event_loops: 4
              queue_max_messages: 1000
              http_api_body_limit: 65536
              shutdown_timeout: 1m30s
            """
        for pathExtension in ["yaml", "yml", "conf"] {
            let (config, warnings) = try load(yaml, extension: pathExtension)
            XCTAssertEqual(warnings, [], pathExtension)
            XCTAssertEqual(config, fullConfig, pathExtension)
        }
    }

    func testJSONWithoutExtensionTabsAndEscapes() throws {
        let json = "{\n\t\"http_api\": {\n\t\t\"key\": \"a\\/b\\u00e9\\\"\"\n\t}\n}\n"
        let (config, warnings) = try load(json, extension: "")
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(config.httpAPI.key, "a/bé\"")
    }

    func testNullLeavesTheDefault() throws {
        let (config, warnings) = try load(#"{"client": {"ping_interval": null, "token": null}, "log": null}"#)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(config, .secureDefaults)
    }

    func testFileProblems() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("herald-missing-\(UUID()).json").path
        XCTAssertThrowsError(try ConfigLoader.load(file: missing, environment: [:], overrides: ConfigOverrides())) { error in
            XCTAssertEqual((error as? ConfigError)?.path, missing)
        }
        let broken = try write(#"{"client": {"insecure": true"#)
        XCTAssertThrowsError(try ConfigLoader.load(file: broken, environment: [:], overrides: ConfigOverrides())) { error in
            XCTAssertEqual((error as? ConfigError)?.path, broken)
            XCTAssertTrue((error as? ConfigError)?.problem.hasPrefix("invalid JSON") ?? false, "\(error)")
        }
        let list = try write("- a\n- b\n", extension: "yaml")
        XCTAssertThrowsError(try ConfigLoader.load(file: list, environment: [:], overrides: ConfigOverrides())) { error in
            XCTAssertEqual(error as? ConfigError, ConfigError(list, "expected a YAML object at the top level"))
        }
    }

    // MARK: Environment and flags

    func testEnvironmentOverridesFileAndFlagsOverrideEnvironment() throws {
        let file = #"{"http_server": {"port": 8001, "address": "10.0.0.1"}, "log": {"level": "error"}, "http_api": {"key": "file"}}"#
        let environment = [
            "HERALD_HTTP_SERVER_PORT": "8002",
            "HERALD_LOG_LEVEL": "debug",
            "HERALD_HTTP_API_KEY": "0123",  // digits stay a string
        ]
        let fromEnvironment = try load(file, environment: environment).config
        XCTAssertEqual(fromEnvironment.httpServer.port, 8002)
        XCTAssertEqual(fromEnvironment.httpServer.address, "10.0.0.1")
        XCTAssertEqual(fromEnvironment.log.level, "debug")
        XCTAssertEqual(fromEnvironment.httpAPI.key, "0123")

        let fromFlags = try load(file, environment: environment,
                                 overrides: ConfigOverrides(port: 8003, address: "::1", logLevel: "trace")).config
        XCTAssertEqual(fromFlags.httpServer.port, 8003)
        XCTAssertEqual(fromFlags.httpServer.address, "::1")
        XCTAssertEqual(fromFlags.log.level, "trace")
        XCTAssertEqual(fromFlags.httpAPI.key, "0123")
    }

    func testEnvironmentValueForms() throws {
        let environment = [
            "HERALD_CLIENT_TOKEN_HMAC_SECRET_KEY": "hmac",
            "HERALD_CLIENT_ALLOWED_ORIGINS": "https://a.example  https://b.example",
            "HERALD_CLIENT_INSECURE": "1",
            "HERALD_CLIENT_ALLOW_ANONYMOUS_CONNECT_WITHOUT_TOKEN": "True",
            "HERALD_CLIENT_PING_INTERVAL": "1m",
            "HERALD_CLIENT_PONG_TIMEOUT": "10",
            "HERALD_CHANNEL_WITHOUT_NAMESPACE_JOIN_LEAVE": "true",
            "HERALD_CHANNEL_NAMESPACES": #"[{"name": "chat", "presence": true}, {"name": "feed"}]"#,
            "HERALD_HERALD_SHUTDOWN_TIMEOUT": "250ms",
            "HERALD_HERALD_EVENT_LOOPS": "2",
        ]
        let (config, warnings) = try load("{}", environment: environment)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(config.client.token.hmacSecretKey, "hmac")
        XCTAssertEqual(config.client.allowedOrigins, ["https://a.example", "https://b.example"])
        XCTAssertTrue(config.client.insecure)
        XCTAssertTrue(config.client.allowAnonymousConnectWithoutToken)
        XCTAssertEqual(config.client.pingInterval, .seconds(60))
        XCTAssertEqual(config.client.pongTimeout, .seconds(10))
        XCTAssertTrue(config.channel.withoutNamespace.joinLeave)
        XCTAssertEqual(config.channel.namespaces.map(\.name), ["chat", "feed"])
        XCTAssertEqual(config.namespace(named: "chat")?.presence, true)
        XCTAssertEqual(config.herald.shutdownTimeout, .milliseconds(250))
        XCTAssertEqual(config.herald.eventLoops, 2)

        let json = try load("{}", environment: ["HERALD_CLIENT_ALLOWED_ORIGINS": #"["https://a.example", "*"]"#]).config
        XCTAssertEqual(json.client.allowedOrigins, ["https://a.example", "*"])
    }

    func testEnvironmentErrorsNameTheVariable() throws {
        try assertError("{}", environment: ["HERALD_HTTP_SERVER_PORT": "eighty"],
                        #"HERALD_HTTP_SERVER_PORT: expected an integer"#)
        try assertError("{}", environment: ["HERALD_CLIENT_INSECURE": "maybe"],
                        #"HERALD_CLIENT_INSECURE: expected true or false"#)
        try assertError("{}", environment: ["HERALD_CLIENT_PING_INTERVAL": "soon"],
                        #"HERALD_CLIENT_PING_INTERVAL: expected a duration like "25s""#)
        try assertError("{}", environment: ["HERALD_CHANNEL_NAMESPACES": #"[{"name": "chat", "presence": "yes"}]"#],
                        #"HERALD_CHANNEL_NAMESPACES[0].presence: expected true or false"#)
    }

    // MARK: Warnings

    func testUnknownKeysAndVariablesAreWarnings() throws {
        let file = """
            {
              "engine": { "type": "redis" },
              "client": { "insecure": false, "concurency": 4, "token": { "jwks_public_endpoint": "https://x" } },
              "channel": {
                "without_namespace": { "presense": true },
                "namespaces": [{ "name": "chat", "history_meta_ttl": "720h" }]
              }
            }
            """
        let environment = [
            "HERALD_CLIENT_INSECUR": "true",
            "HERALD_SERVICE_HOST": "10.0.0.2",  // Kubernetes, for a Service named herald
            "HERALD_PORT_8000_TCP": "tcp://10.0.0.2:8000",
            "HOME": "/root",
        ]
        let (_, warnings) = try load(file, environment: environment)
        XCTAssertEqual(warnings, [
            "unknown key engine ignored",
            "unknown key client.concurency ignored",
            "unknown key client.token.jwks_public_endpoint ignored",
            "unknown key channel.without_namespace.presense ignored",
            "unknown key channel.namespaces[0].history_meta_ttl ignored",
            "unknown environment variable HERALD_CLIENT_INSECUR ignored",
        ])
    }

    // MARK: Errors

    func testWrongTypesNameTheKey() throws {
        try assertError(#"{"http_server": {"port": "8000"}}"#, #"http_server.port: expected an integer"#)
        try assertError(#"{"http_server": {"port": 80.5}}"#, #"http_server.port: expected an integer"#)
        try assertError(#"{"http_server": {"address": 1}}"#, #"http_server.address: expected a string"#)
        try assertError(#"{"client": {"insecure": "true"}}"#, #"client.insecure: expected true or false"#)
        try assertError(#"{"client": {"ping_interval": "25"}}"#, #"client.ping_interval: expected a duration like "25s""#)
        try assertError(#"{"client": {"ping_interval": true}}"#, #"client.ping_interval: expected a duration like "25s""#)
        try assertError(#"{"client": {"allowed_origins": "*"}}"#, #"client.allowed_origins: expected a list"#)
        try assertError(#"{"client": {"allowed_origins": ["a", 1]}}"#, #"client.allowed_origins[1]: expected a string"#)
        try assertError(#"{"client": 5}"#, #"client: expected an object"#)
        try assertError(#"{"client": {"token": []}}"#, #"client.token: expected an object"#)
        try assertError(#"{"channel": {"namespaces": {"name": "chat"}}}"#, #"channel.namespaces: expected a list"#)
        try assertError(#"{"channel": {"namespaces": ["chat"]}}"#, #"channel.namespaces[0]: expected an object"#)
        try assertError(#"{"channel": {"namespaces": [{"name": "chat", "history_size": "10"}]}}"#,
                        #"channel.namespaces[0].history_size: expected an integer"#)
        try assertError("channel:\n  without_namespace:\n    history_ttl: forever\n", extension: "yaml",
                        #"channel.without_namespace.history_ttl: expected a duration like "25s""#)
    }

    func testValidationErrorsNameTheKey() throws {
        let cases: [(String, String)] = [
            (#"{"http_server": {"port": 0}}"#, "http_server.port: must be between 1 and 65535, got 0"),
            (#"{"http_server": {"port": 65536}}"#, "http_server.port: must be between 1 and 65535, got 65536"),
            (#"{"log": {"level": "loud"}}"#,
             #"log.level: unknown level "loud" (use trace, debug, info, warn, error or none)"#),
            (#"{"client": {"channel_limit": -1}}"#, "client.channel_limit: must not be negative, got -1"),
            (#"{"client": {"connection_limit": -5}}"#, "client.connection_limit: must not be negative, got -5"),
            (#"{"client": {"queue_max_size": 0}}"#, "client.queue_max_size: must be positive, got 0"),
            (#"{"client": {"ping_interval": "5s", "pong_timeout": "5s"}}"#,
             "client.pong_timeout: must be less than client.ping_interval"),
            (#"{"websocket": {"message_size_limit": 0}}"#, "websocket.message_size_limit: must be positive, got 0"),
            (#"{"channel": {"max_length": -1}}"#, "channel.max_length: must be positive, got -1"),
            (#"{"herald": {"event_loops": -1}}"#, "herald.event_loops: must not be negative, got -1"),
            (#"{"herald": {"event_backend": "epoll"}}"#,
             #"herald.event_backend: unknown backend "epoll" (use libev or poll)"#),
            (#"{"herald": {"queue_max_messages": 0}}"#, "herald.queue_max_messages: must be positive, got 0"),
            (#"{"herald": {"http_api_body_limit": -1}}"#, "herald.http_api_body_limit: must be positive, got -1"),
            (#"{"herald": {"shutdown_timeout": "-1s"}}"#, "herald.shutdown_timeout: must not be negative"),
            (#"{"channel": {"namespaces": [{"name": "x"}]}}"#,
             #"channel.namespaces[0].name: invalid namespace name "x" (must match ^[-a-zA-Z0-9_.]{2,}$)"#),
            (#"{"channel": {"namespaces": [{"presence": true}]}}"#,
             #"channel.namespaces[0].name: invalid namespace name "" (must match ^[-a-zA-Z0-9_.]{2,}$)"#),
            (#"{"channel": {"namespaces": [{"name": "chat room"}]}}"#,
             #"channel.namespaces[0].name: invalid namespace name "chat room" (must match ^[-a-zA-Z0-9_.]{2,}$)"#),
            (#"{"channel": {"namespaces": [{"name": "chat"}, {"name": "news"}, {"name": "chat"}]}}"#,
             #"channel.namespaces[2].name: duplicate namespace name "chat""#),
            (#"{"channel": {"namespaces": [{"name": "chat", "history_size": -1, "history_ttl": "1s"}]}}"#,
             "channel.namespaces[0].history_size: must not be negative, got -1"),
            (#"{"channel": {"namespaces": [{"name": "chat", "history_size": 10}]}}"#,
             "channel.namespaces[0]: history_size and history_ttl must be set together"),
            (#"{"channel": {"without_namespace": {"history_ttl": "60s"}}}"#,
             "channel.without_namespace: history_size and history_ttl must be set together"),
            (#"{"channel": {"without_namespace": {"force_recovery": true}}}"#,
             "channel.without_namespace.force_recovery: needs history_size and history_ttl"),
            (#"{"admin": {"enabled": true, "secret": "s"}}"#,
             "admin.password: must be set when admin.enabled is true (or admin.insecure, for local use only)"),
            (#"{"admin": {"enabled": true, "password": "p"}}"#,
             "admin.secret: must be set when admin.enabled is true (or admin.insecure, for local use only)"),
            (#"{"admin": {"enabled": true, "password": "p", "secret": "s"}, "client": {"token": {"hmac_secret_key": "s"}}}"#,
             "admin.secret: must differ from the client token secrets"),
        ]
        for (json, expected) in cases {
            try assertError(json, expected)
        }
        // Flags are validated like everything else.
        XCTAssertThrowsError(try ConfigLoader.load(file: nil, environment: [:], overrides: ConfigOverrides(port: -1))) {
            XCTAssertEqual(($0 as? ConfigError)?.path, "http_server.port")
        }
    }

    func testAcceptedEdgeValues() throws {
        let json = #"""
            {"log": {"level": "WARNING"}, "client": {"ping_interval": -1, "pong_timeout": "30s", "channel_limit": 0},
             "http_server": {"port": 65535}, "channel": {"namespaces": [{"name": "a-b_c.d"}]}}
            """#
        let (config, _) = try load(json)
        XCTAssertEqual(config.client.pingInterval, .seconds(-1))
        XCTAssertEqual(config.log.level, "WARNING")
    }

    func testAdminConsoleKeys() throws {
        XCTAssertEqual(HeraldConfig.secureDefaults.admin, HeraldConfig.Admin())
        XCTAssertFalse(HeraldConfig.secureDefaults.admin.enabled)
        let (config, warnings) = try load(#"{"admin": {"enabled": true, "password": "p", "secret": "s"}}"#,
                                          environment: ["HERALD_ADMIN_PASSWORD": "from-env"])
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(config.admin, HeraldConfig.Admin(enabled: true, password: "from-env", secret: "s", insecure: false))
        // Insecure needs neither: tokens are then signed with a secret made at start. Off, nothing is checked.
        XCTAssertNoThrow(try load(#"{"admin": {"enabled": true, "insecure": true}}"#))
        XCTAssertNoThrow(try load(#"{"admin": {"enabled": false, "password": ""}}"#))
    }

    // MARK: Durations

    func testGoDurationSyntax() {
        let valid: [(String, Duration)] = [
            ("0", .zero), ("25s", .seconds(25)), ("500ms", .milliseconds(500)), ("1m30s", .seconds(90)),
            ("2h", .seconds(7200)), ("1.5h", .seconds(5400)), (".5s", .milliseconds(500)), ("1.s", .seconds(1)),
            ("10us", .microseconds(10)), ("10µs", .microseconds(10)), ("7ns", .nanoseconds(7)),
            ("-1s", .seconds(-1)), ("+3m", .seconds(180)), ("1h2m3s4ms", .milliseconds(3_723_004)),
            ("2562047h", .seconds(2_562_047 * 3600)),
        ]
        for (text, expected) in valid {
            XCTAssertEqual(Duration(goSyntax: text), expected, text)
        }
        for text in ["", "25", "s", "1x", "1.2.3s", "-", "1 s", " 1s", "1s ", "2562048h", ".s", "1e3s"] {
            XCTAssertNil(Duration(goSyntax: text), text)
        }
    }

    func testPlainNumbersAreSeconds() throws {
        let yaml = "client:\n  ping_interval: 30\n  pong_timeout: 0.25\n"
        let (config, _) = try load(yaml, extension: "yaml")
        XCTAssertEqual(config.client.pingInterval, .seconds(30))
        XCTAssertEqual(config.client.pongTimeout, .milliseconds(250))
        try assertError(#"{"herald": {"shutdown_timeout": 1e300}}"#,
                        #"herald.shutdown_timeout: expected a duration like "25s""#)
    }

    // MARK: genconfig

    func testGeneratedConfigLoadsBackWithoutWarnings() throws {
        let text = ConfigLoader.generateConfig()
        let (config, warnings) = try load(text)
        XCTAssertEqual(warnings, [])
        XCTAssertFalse(config.developmentMode)
        XCTAssertFalse(config.client.insecure)
        XCTAssertFalse(config.httpAPI.insecure)
        XCTAssertEqual(config.client.allowedOrigins, [])
        let secrets = [config.httpAPI.key, config.client.token.hmacSecretKey, config.admin.password, config.admin.secret]
        for secret in secrets {
            XCTAssertEqual(secret.count, 43)
            XCTAssertTrue(secret.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        }
        XCTAssertEqual(Set(secrets).count, secrets.count)
        // The console is off, ready to be turned on with its own password and secret.
        XCTAssertFalse(config.admin.enabled)
        XCTAssertFalse(config.admin.insecure)
        var enabled = config
        enabled.admin.enabled = true
        XCTAssertNoThrow(try enabled.validate())
        let again = try load(ConfigLoader.generateConfig()).config
        XCTAssertNotEqual(again.httpAPI.key, config.httpAPI.key)
        XCTAssertNotEqual(again.admin.password, config.admin.password)
        // Stable key order: only the secrets differ.
        let stripSecrets = { (text: String) in
            text.split(separator: "\n").filter {
                !["\"key\"", "hmac_secret_key", "\"password\"", "\"secret\""].contains(where: $0.contains)
            }
        }
        XCTAssertEqual(stripSecrets(text), stripSecrets(ConfigLoader.generateConfig()))
    }

    // MARK: Centrifugo compatibility

    func testCentrifugoV6ConfigLoads() throws {
        // Shaped like a `centrifugo genconfig` output extended by hand, with keys Herald does not have.
        let json = """
            {
              "client": {
                "token": {
                  "hmac_secret_key": "bbe7d157-a253-4094-9759-06a8236543f9"
                },
                "allowed_origins": ["http://localhost:3000"],
                "ping_interval": "12s"
              },
              "admin": {
                "enabled": false,
                "password": "d0683813-0916-4c49-979f-0e08a686b727",
                "secret": "4b9bd8f5-f3b5-4af4-8b91-0d49d2f7fe73"
              },
              "http_api": {
                "key": "f7eb3d36-1b3a-4e0b-b7b8-3dbd9b0a2e4a"
              },
              "engine": { "type": "memory" },
              "channel": {
                "without_namespace": { "presence": true },
                "namespaces": [
                  {
                    "name": "personal",
                    "presence": true,
                    "history_size": 300,
                    "history_ttl": "600s",
                    "force_recovery": true,
                    "allow_subscribe_for_client": true,
                    "allow_user_limited_channels": true
                  },
                  {
                    "name": "chat",
                    "allow_subscribe_for_client": true,
                    "allow_publish_for_subscriber": true,
                    "allowed_delta_types": ["fossil"]
                  }
                ]
              },
              "websocket": { "write_timeout": "2s", "message_size_limit": 131072 }
            }
            """
        let (config, warnings) = try load(json)
        XCTAssertEqual(warnings, [
            "unknown key engine ignored",
            "unknown key websocket.write_timeout ignored",
        ])
        XCTAssertEqual(config.admin.password, "d0683813-0916-4c49-979f-0e08a686b727")
        XCTAssertFalse(config.admin.enabled)
        XCTAssertEqual(config.client.token.hmacSecretKey, "bbe7d157-a253-4094-9759-06a8236543f9")
        XCTAssertEqual(config.client.pingInterval, .seconds(12))
        XCTAssertEqual(config.websocket.messageSizeLimit, 131_072)
        XCTAssertEqual(config.namespace(named: "personal")?.historyTTL, .seconds(600))
        XCTAssertEqual(config.namespace(named: "chat")?.allowPublishForSubscriber, true)
    }
}
