#if canImport(Glibc)
import Glibc
#endif

/// An OS thread running one closure, joinable. Herald's loops, acceptor and ticker are long-lived
/// threads of their own (each libwebsockets context needs one), not tasks on a shared pool.
public final class ServiceThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () -> Void

    private init(body: @escaping () -> Void) {
        self.body = body
    }

    public static func start(_ body: @escaping () -> Void) -> ServiceThread {
        let service = ServiceThread(body: body)
        let context = Unmanaged.passRetained(service).toOpaque()
        let created = pthread_create(&service.thread, nil, { context in
            let service = Unmanaged<ServiceThread>.fromOpaque(context!).takeRetainedValue()
            service.body()
            return nil
        }, context)
        precondition(created == 0, "cannot create a thread: error \(created)")
        return service
    }

    public func join() {
        pthread_join(thread, nil)
    }
}
