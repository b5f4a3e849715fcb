import Glibc
import HeraldCore
import Logging
import Synchronization

/// A running Herald server: the event loops, the acceptor that feeds them, and the ticker that drives
/// pings and timeouts. `run()` serves until SIGTERM or SIGINT, then shuts down gracefully.
public final class Server: @unchecked Sendable {
    private let settings: TransportSettings
    private let logger: Logger
    private let loops: [EventLoop]
    private let acceptor: Acceptor
    private let shared: ServerShared
    private let tickerStopped = Atomic<Bool>(false)
    private var ticker: ServiceThread?
    private var durableWriterThread: ServiceThread?
    public let node: Node

    /// The port actually listened on (useful when the configuration asked for port 0).
    public var port: Int { acceptor.port }

    /// `log`: the durable log for durable namespaces (nil: none is durable); its streams are restored here.
    /// `bridge`: the Kafka bridges' node side, when the configuration has some (the caller connects it).
    /// `metrics`: the Prometheus text for `GET /metrics`; `admin`: the admin console, when it is on.
    public init(config: HeraldConfig, version: String, logger: Logger, log: PublicationLog? = nil,
                bridge: KafkaBridge? = nil, tokens: TokenAuthority = .none,
                metrics: (@Sendable () -> [UInt8])? = nil, admin: AdminConsole? = nil) throws {
        settings = TransportSettings(config: config)
        self.logger = logger
        signal(SIGPIPE, SIG_IGN)
        LibWebSocketsLog.route(to: logger)
        let (backend, tls) = (settings.eventBackend, settings.tls)
        loops = try (0..<settings.eventLoops).map { try EventLoop(index: $0, backend: backend, tls: tls) }
        let wakers: [@Sendable () -> Void] = loops.map { loop in { loop.wake() } }
        node = Node(config: config, version: version, name: Self.hostName(), wakers: wakers, log: log,
                    bridge: bridge, tokens: tokens, logger: logger)
        try node.durableWriter?.restore()
        shared = ServerShared(
            settings: settings,
            endpoints: HTTPEndpoints(
                api: ServerAPI(node: node),
                authorization: APIAuthorization(key: config.httpAPI.key, insecure: config.httpAPI.insecure,
                                                adminTokens: tokens.admin),
                metrics: metrics,
                admin: admin),
            logger: logger)
        for (loop, core) in zip(loops, node.makeLoopContexts()) {
            loop.attach(server: shared, core: core)
        }
        acceptor = try Acceptor(address: settings.address, port: settings.port, loops: loops,
                                tls: settings.tls != nil)
    }

    /// Serves until SIGTERM or SIGINT (SIGHUP reloads the TLS certificate), then stops accepting, tells
    /// every client to reconnect elsewhere (disconnect code 3001), waits for them to go (at most
    /// `herald.shutdown_timeout`), and returns.
    public func run() {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        if let writer = node.durableWriter { durableWriterThread = ServiceThread.start { writer.run() } }
        for loop in loops { loop.start() }
        acceptor.start()
        startTicker()
        logger.info("herald listening", metadata: [
            "address": "\(settings.address.isEmpty ? "0.0.0.0" : settings.address)",
            "port": "\(port)", "event_loops": "\(loops.count)", "tls": "\(settings.tls != nil)",
        ])

        var received: Int32 = 0
        while sigwait(&signals, &received) == 0, received == SIGHUP {
            reloadCertificate()
        }
        logger.info("shutting down", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
        shutdown()
    }

    /// SIGHUP: the certificate and key files are read again for new connections; open connections keep
    /// their TLS sessions. Files that fail the check keep the old certificate.
    private func reloadCertificate() {
        guard let tls = settings.tls else {
            logger.info("SIGHUP: no TLS configured, nothing to reload")
            return
        }
        do {
            try tls.checkFiles()
        } catch {
            logger.error("SIGHUP: TLS certificate not reloaded, keeping the previous one: \(error)")
            return
        }
        logger.info("SIGHUP: reloading the TLS certificate")
        for loop in loops { loop.reloadCertificate() }
    }

    private func shutdown() {
        shared.shuttingDown.store(true, ordering: .relaxed)
        acceptor.stop()
        for loop in loops { loop.beginShutdown() }
        let deadline = monotonicMilliseconds() + Milliseconds(settings.shutdownTimeoutMs)
        while shared.clientConnections.load(ordering: .relaxed) > 0, monotonicMilliseconds() < deadline {
            usleep(10_000)
        }
        let remaining = shared.clientConnections.load(ordering: .relaxed)
        if remaining > 0 { logger.warning("shutdown timeout: closing remaining connections", metadata: ["connections": "\(remaining)"]) }
        tickerStopped.store(true, ordering: .relaxed)
        ticker?.join()
        // What was queued is written (and answered) before the log closes.
        node.durableWriter?.stop()
        durableWriterThread?.join()
        let logger = self.logger
        let loopsStopped = Atomic<Bool>(false)
        _ = ServiceThread.start {
            // A loop that does not come back (a libwebsockets bug, see README "Known limits") must not keep
            // the process alive past the promised bound.
            for _ in 0..<200 where !loopsStopped.load(ordering: .acquiring) { usleep(10_000) }
            guard !loopsStopped.load(ordering: .acquiring) else { return }
            logger.critical("an event loop did not stop within 2 s; exiting anyway")
            _exit(1)
        }
        for loop in loops { loop.stop() }
        loopsStopped.store(true, ordering: .releasing)
        logger.info("stopped")
    }

    /// Wakes every loop a few times a second for pings, pong deadlines and connect timeouts.
    private func startTicker() {
        ticker = ServiceThread.start { [self] in
            var ticks = 0
            while !tickerStopped.load(ordering: .relaxed) {
                usleep(200_000)
                ticks += 1
                if ticks % 5 == 0 { node.expireHistory() }
                for loop in loops {
                    loop.tickDue.store(true, ordering: .releasing)
                    loop.wake()
                }
            }
        }
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer)
    }
}
