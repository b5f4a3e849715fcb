import CLibWebSockets
import Glibc
import HeraldCore
import Logging
import Synchronization

/// How a loop waits for its sockets (`herald.event_backend`).
public enum EventBackend: Sendable {
    /// A libev loop on epoll that Herald creates and runs, joined by lws as a foreign loop: a wait costs
    /// in proportion to the sockets that are ready.
    case libev
    /// lws's own `poll()` loop: every wait visits every socket.
    case poll
}

/// How a loop takes an accepted socket.
enum Adoption: Sendable {
    /// lws's HTTP role: WebSocket upgrades and, with TLS, every connection (lws does the handshake).
    case libWebSockets
    /// A raw socket that Herald's `HTTPConnection` serves.
    case plainHTTP
}

/// One libwebsockets context and the thread that services it. The thread owns every connection adopted
/// into the context and the core `LoopContext` that indexes their subscriptions; other threads hand it
/// sockets and events through mailboxes and wake it with `lws_cancel_service`.
final class EventLoop: @unchecked Sendable {
    let index: Int
    private(set) var server: ServerShared!
    private(set) var context: OpaquePointer!
    private var vhost: OpaquePointer!
    private(set) var core: LoopContext!
    private let adoptQueue = Mutex<[(socket: Int32, adoption: Adoption)]>([])
    let tickDue = Atomic<Bool>(false)
    private let certificateReloadDue = Atomic<Bool>(false)
    /// With `http_server.tls`: the default vhost serves TLS with it.
    private let certificate: TLSCertificate?
    private let shutdownDue = Atomic<Bool>(false)
    private let stopDue = Atomic<Bool>(false)
    private var thread: ServiceThread?
    /// False once the context is being destroyed: wakes from other threads must not touch it then.
    private let alive = Mutex<Bool>(true)
    /// Where several queued frames are gathered into one write; shared by this loop's connections.
    var gatherBuffer: [UInt8] = []
    /// Connections whose queue went from empty to not empty during the current event.
    private var marked: [WebSocketConnection] = []
    private var protocols: UnsafeMutablePointer<lws_protocols>
    private static let protocolName = strdup("herald")!
    /// No lws validity pings: lws would keep one timer per connection in a sorted list whose every insert
    /// walks it (connects slowed in proportion to the connections open), and Herald's protocol pings
    /// already find dead peers. A hangup interval of 0 turns them off.
    private static let noValidityPings: UnsafeMutablePointer<lws_retry_bo_t> = {
        let policy = UnsafeMutablePointer<lws_retry_bo_t>.allocate(capacity: 1)
        policy.initialize(to: lws_retry_bo_t())
        return policy
    }()
    /// The libev loop, with `EventBackend.libev`.
    private let evLoop: OpaquePointer?

    init(index: Int, backend: EventBackend, tls: HeraldConfig.HTTPServer.TLS?) throws {
        self.index = index
        certificate = tls.map(TLSCertificate.init)
        protocols = .allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        protocols[0].name = UnsafePointer(Self.protocolName)
        protocols[0].callback = heraldCallback
        protocols[0].rx_buffer_size = TransportSettings.receiveChunkSize
        protocols[0].tx_packet_size = TransportSettings.sendChunkSize

        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN_SERVER
        info.protocols = UnsafePointer(protocols)
        // A foreign loop, so lws leaves signals alone: libev lets only one loop per process watch them.
        evLoop = backend == .libev ? ev_loop_new(herald_ev_backend_epoll) : nil
        info.options = herald_option_validate_utf8
        info.user = Unmanaged.passUnretained(self).toOpaque()
        info.timeout_secs = 10
        // Any head the acceptor takes for an upgrade fits (it is under the plain parser's bound): lws's own
        // default (4 KiB) would drop a longer one without an answer.
        info.max_http_header_data = UInt16(HTTPRequestParser.maxHeadBytes)
        info.count_threads = 1
        info.retry_and_idle_policy = UnsafePointer(Self.noValidityPings)
        certificate?.configure(&info)
        var foreignLoops: [UnsafeMutableRawPointer?] = [evLoop.map { UnsafeMutableRawPointer($0) }]
        if evLoop != nil { info.options |= herald_option_libev }
        let created = foreignLoops.withUnsafeMutableBufferPointer { loops -> OpaquePointer? in
            if evLoop != nil { info.foreign_loops = loops.baseAddress }
            return lws_create_context(&info)
        }
        guard let context = created else {
            // Every stored property is set, so `deinit` runs after the throw and frees `protocols`.
            if let evLoop { ev_loop_destroy(evLoop) }
            throw certificate == nil ? TransportError.contextCreation : TransportError.tlsCertificate
        }
        self.context = context
        vhost = lws_get_vhost_by_name(context, "default")
    }

    deinit {
        protocols.deallocate()
    }

    /// Completes the loop once the node exists (the node needs every loop's wake-up first).
    func attach(server: ServerShared, core: LoopContext) {
        self.server = server
        self.core = core
    }

    /// Wakes the service thread; safe from any thread.
    func wake() {
        alive.withLock { alive in
            if alive { lws_cancel_service(context) }
        }
    }

    /// Queues an accepted socket for this loop; a burst of accepts costs one wake-up.
    func adopt(socket: Int32, as adoption: Adoption) {
        let wasEmpty = adoptQueue.withLock { queue in
            queue.append((socket, adoption))
            return queue.count == 1
        }
        if wasEmpty { wake() }
    }

    func start() {
        thread = ServiceThread.start { [self] in run() }
    }

    private func run() {
        if let evLoop {
            ev_run(evLoop, 0)  // until `handleWakeUp` breaks it
        } else {
            while !stopDue.load(ordering: .acquiring) {
                if lws_service(context, 0) < 0 { break }
            }
        }
        alive.withLock { $0 = false }
        lws_context_destroy(context)
        if let evLoop { ev_loop_destroy(evLoop) }
    }

    /// Runs on the loop's thread when woken: new sockets, timers, posted events, shutdown.
    func handleWakeUp() {
        if stopDue.load(ordering: .acquiring) {
            if let evLoop { ev_break(evLoop, Int32(EVBREAK_ALL)) }
            return
        }
        let sockets = adoptQueue.withLock { queue in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        for (socket, adoption) in sockets {
            // lws closes the socket itself when adoption fails.
            if adoption == .libWebSockets {
                // On a TLS vhost this starts lws's TLS handshake (the call allows TLS).
                _ = lws_adopt_socket_vhost(vhost, socket)
            } else {
                var descriptor = lws_sock_file_fd_type()
                descriptor.sockfd = socket
                _ = lws_adopt_descriptor_vhost(vhost, LWS_ADOPT_SOCKET, descriptor, Self.protocolName, nil)
            }
        }
        if certificateReloadDue.exchange(false, ordering: .acquiringAndReleasing), let certificate {
            do {
                try certificate.reload(context: context, vhost: vhost, protocols: UnsafePointer(protocols))
                server.logger.info("TLS certificate reloaded for new connections", metadata: ["loop": "\(index)"])
            } catch {
                server.logger.error("TLS certificate not reloaded, keeping the previous one: \(error)",
                                    metadata: ["loop": "\(index)"])
            }
        }
        if tickDue.exchange(false, ordering: .acquiringAndReleasing) {
            core.tick(now: monotonicMilliseconds())
        }
        core.drainInbox()
        if shutdownDue.exchange(false, ordering: .acquiringAndReleasing) {
            core.closeAll(.shutdown)
        }
    }

    func markForFlush(_ connection: WebSocketConnection) {
        marked.append(connection)
    }

    /// Writes what each marked connection has queued; called as each lws callback ends.
    func writeMarked() {
        guard !marked.isEmpty else { return }
        for connection in marked where connection.writeQueued() < 0 {
            connection.closeAfterFailedWrite()
        }
        marked.removeAll(keepingCapacity: true)
    }

    /// Loads the TLS certificate and key files again, for connections from now on.
    func reloadCertificate() {
        certificateReloadDue.store(true, ordering: .releasing)
        wake()
    }

    /// Asks every client to leave with the shutdown code (they reconnect elsewhere).
    func beginShutdown() {
        shutdownDue.store(true, ordering: .releasing)
        wake()
    }

    /// Stops the service thread and waits for it to destroy its context.
    func stop() {
        stopDue.store(true, ordering: .releasing)
        wake()
        thread?.join()
    }
}

enum TransportError: Error, CustomStringConvertible {
    case contextCreation
    case tlsCertificate
    case listen(String)

    var description: String {
        switch self {
        case .contextCreation: "libwebsockets could not create a context"
        case .tlsCertificate:
            "libwebsockets could not load http_server.tls.cert_pem_file and key_pem_file (does the key match the certificate?)"
        case .listen(let reason): reason
        }
    }
}
