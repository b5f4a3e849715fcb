import CEpoll
import Glibc
import HeraldCore
import Synchronization

/// The listening socket and the thread that accepts on it. libwebsockets 4.1 here cannot share one port
/// between contexts, so Herald listens itself and deals accepted sockets to the event loops in turn.
///
/// With TLS the first bytes are a TLS handshake: every socket goes to libwebsockets at once, which
/// terminates TLS and tells upgrades from plain requests itself (`TLSHTTPExchange`).
///
/// Without TLS, before dealing a socket, the acceptor peeks at its first request (`FirstRequest`):
/// WebSocket upgrades are adopted into libwebsockets' HTTP role, everything else as a raw socket that
/// Herald's own HTTP server reads. `TCP_DEFER_ACCEPT` makes the kernel hand over a connection once its
/// first bytes are in, so the peek usually decides at once; a head that arrives in pieces waits in this
/// thread's epoll set, at most `firstRequestTimeout`, then the connection is closed.
final class Acceptor: @unchecked Sendable {
    static let firstRequestTimeout: Milliseconds = 10_000
    private let listener: Int32
    private let epoll: Int32
    /// Written once by `stop` to wake the thread.
    private let stopEvent: Int32
    private let loops: [EventLoop]
    private let terminatesTLS: Bool
    private var thread: ServiceThread?
    let port: Int

    // Used by the accept thread only.
    private var nextLoop = 0
    /// Sockets whose first request has not fully arrived, with when they were accepted.
    private var undecided: [Int32: Milliseconds] = [:]
    private let peekBuffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: HTTPRequestParser.maxHeadBytes, alignment: 1)

    init(address: String, port: Int, loops: [EventLoop], tls: Bool) throws {
        self.loops = loops
        terminatesTLS = tls
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                        | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw TransportError.listen("socket: \(String(cString: strerror(errno)))") }
        Self.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        Self.setOption(fd, Int32(IPPROTO_TCP), TCP_DEFER_ACCEPT, 10)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let host = address.isEmpty ? "0.0.0.0" : address
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw TransportError.listen("http_server.address \(host) is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 4096) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw TransportError.listen("cannot listen on \(host):\(port): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        listener = fd
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        stopEvent = eventfd(0, Int32(EFD_CLOEXEC))
        watch(listener, events: EPOLLIN.rawValue)
        watch(stopEvent, events: EPOLLIN.rawValue)
    }

    deinit {
        peekBuffer.deallocate()
    }

    func start() {
        thread = ServiceThread.start { [self] in run() }
    }

    /// Stops accepting and closes the sockets still waiting for their first request.
    func stop() {
        var one: UInt64 = 1
        _ = write(stopEvent, &one, MemoryLayout<UInt64>.size)
        thread?.join()
        for socket in undecided.keys { close(socket) }
        undecided.removeAll()
        close(listener)
        close(epoll)
        close(stopEvent)
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            let count = epoll_wait(epoll, &events, Int32(events.count), undecided.isEmpty ? -1 : 1000)
            for event in events.prefix(max(0, Int(count))) {
                switch event.data.fd {
                case stopEvent: return
                case listener: acceptAll()
                default: route(event.data.fd)
                }
            }
            expireUndecided()
        }
    }

    private func acceptAll() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE {
                    usleep(10_000)  // out of descriptors: let connections close before accepting again
                }
                return  // EAGAIN: all accepted; other errors concern that one connection
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            Self.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            if terminatesTLS {
                deal(fd, as: .libWebSockets)
            } else {
                route(fd)
            }
        }
    }

    /// Deals `fd` to a loop once its first request tells how to serve it.
    private func route(_ fd: Int32) {
        let peeked = recv(fd, peekBuffer.baseAddress, peekBuffer.count, Int32(MSG_PEEK | MSG_DONTWAIT))
        let decision: FirstRequest
        if peeked > 0 {
            decision = FirstRequest.classify(UnsafeRawBufferPointer(rebasing: peekBuffer[..<peeked]),
                                             isFull: peeked == peekBuffer.count)
        } else if peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
            decision = .undecided
        } else {
            forget(fd)
            close(fd)  // closed by the client, or failed, before saying anything
            return
        }
        if decision == .undecided {
            if undecided[fd] == nil {
                undecided[fd] = monotonicMilliseconds()
                // Edge-triggered: woken again only when more bytes arrive.
                watch(fd, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue)
            }
            return
        }
        forget(fd)
        deal(fd, as: decision == .webSocketUpgrade ? .libWebSockets : .plainHTTP)
    }

    private func deal(_ fd: Int32, as adoption: Adoption) {
        loops[nextLoop].adopt(socket: fd, as: adoption)
        nextLoop = (nextLoop + 1) % loops.count
    }

    private func forget(_ fd: Int32) {
        if undecided.removeValue(forKey: fd) != nil {
            epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
        }
    }

    private func expireUndecided() {
        guard !undecided.isEmpty else { return }
        let now = monotonicMilliseconds()
        for (fd, acceptedAt) in undecided where now - acceptedAt > Self.firstRequestTimeout {
            forget(fd)
            close(fd)
            loops[0].server.node.refusals.count("first_request_timeout")  // a slowloris, or a very slow client
        }
    }

    private func watch(_ fd: Int32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
    }

    private static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var value = value
        setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }
}
