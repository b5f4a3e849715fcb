import ArgumentParser
import Glibc
import HeraldAuth
import HeraldCore
import HeraldKafka
import HeraldStore
import HeraldTransport
import Logging
import Metrics
import Prometheus

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default command).")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let (config, warnings) = try options.load()
        if config.log.format == "json" { LoggingSystem.bootstrap { _ in JSONLogHandler() } }
        var logger = Logger(label: "herald")
        logger.logLevel = Logger.Level(configName: config.log.level)
        // The loader's warnings include development mode's, which must be loud: it allows anonymous access.
        for warning in warnings { logger.warning("\(warning)") }
        Self.raiseOpenFilesLimit(logger: logger)
        if config.admin.enabled && config.admin.insecure {
            logger.warning("admin.insecure: the console at /admin gives anyone who asks an admin token; local use only")
        }
        // Before anything makes a metric: swift-metrics hands each to the backend bootstrapped first.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusFactory(registry: registry))
        let server: Server
        let kafka: KafkaConnection?
        do {
            let bridge = config.kafka.enabled ? try KafkaBridge(settings: config.kafka, logger: logger) : nil
            let adminTokens = try AdminTokens(config.admin)
            server = try Server(config: config, version: HeraldVersion.current, logger: logger,
                                log: try Self.openDurableLog(config, logger: logger), bridge: bridge,
                                tokens: try TokenAuthority(config: config, admin: adminTokens),
                                metrics: { registry.emitToBuffer() },
                                admin: adminTokens.map { tokens in
                                    AdminConsole(files: AdminFiles.all, password: config.admin.password,
                                                 insecure: config.admin.insecure, issueToken: { tokens.issue(now: $0) })
                                })
            kafka = try bridge.map { try KafkaConnection(bridge: $0, settings: config.kafka, logger: logger) }
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        // Brokers need not be up: the bridge connects when they are, and /health says so meanwhile.
        kafka?.start()
        server.run()
        kafka?.stop()
    }
}

extension Serve {
    /// The durable log, opened only when a namespace asks for durability: Herald alone needs no disk.
    static func openDurableLog(_ config: HeraldConfig, logger: Logger) throws -> PublicationLog? {
        let namespaces = [config.channel.withoutNamespace] + config.channel.namespaces.map(\.options)
        guard namespaces.contains(where: { $0.durable != .none }) else { return nil }
        let log = try SQLiteLog(directory: config.dataDir)
        logger.info("durable log open", metadata: ["path": "\(log.path)"])
        return log
    }
}

extension Serve {
    /// One descriptor per connection: the soft limit (often 1024 in containers) is raised to the hard one,
    /// which only the administrator can raise.
    static func raiseOpenFilesLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            logger.info("open files limit raised", metadata: ["limit": "\(limit.rlim_max)"])
        }
    }
}

extension Logger.Level {
    init(configName: String) {
        switch configName.lowercased() {
        case "trace": self = .trace
        case "debug": self = .debug
        case "warn", "warning": self = .warning
        case "error": self = .error
        case "none": self = .critical
        default: self = .info
        }
    }
}
