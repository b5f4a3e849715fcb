import Glibc
import Synchronization

/// The listening socket and the thread that accepts on it, dealing accepted sockets to the event loops in
/// turn. libwebsockets 4.1 here cannot share one port between contexts, so Herald listens itself and has
/// each loop adopt its share.
final class Acceptor: @unchecked Sendable {
    private let listener: Int32
    private let loops: [EventLoop]
    private let stopped = Atomic<Bool>(false)
    private var thread: ServiceThread?
    let port: Int

    init(address: String, port: Int, loops: [EventLoop]) throws {
        self.loops = loops
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TransportError.listen("socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
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
    }

    func start() {
        thread = ServiceThread.start { [self] in run() }
    }

    private func run() {
        var next = 0
        while !stopped.load(ordering: .acquiring) {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if stopped.load(ordering: .acquiring) { break }
                if errno == EMFILE || errno == ENFILE {
                    usleep(10_000)  // out of descriptors: let connections close before accepting again
                    continue
                }
                break
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var yes: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            loops[next].adopt(socket: fd)
            next = (next + 1) % loops.count
        }
    }

    /// Stops accepting: shutting the socket down wakes the blocked `accept`.
    func stop() {
        stopped.store(true, ordering: .releasing)
        shutdown(listener, Int32(SHUT_RDWR))
        thread?.join()
        close(listener)
    }
}
