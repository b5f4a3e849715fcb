import CLibWebSockets
import HeraldCore

/// The one libwebsockets protocol callback. It recovers the event loop from the context's user pointer and
/// the per-connection object from the wsi's opaque user data, and hands each event to Swift code.
/// Returning non-zero closes the connection.
func heraldCallback(
    _ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
    _ input: UnsafeMutableRawPointer?, _ length: Int
) -> Int32 {
    guard let wsi, let contextUser = lws_context_user(lws_get_context(wsi)) else { return 0 }
    let loop = Unmanaged<EventLoop>.fromOpaque(contextUser).takeUnretainedValue()

    switch reason {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        loop.handleWakeUp()

    // HTTP requests (the server API, health), one exchange per request on a keep-alive connection.
    case LWS_CALLBACK_HTTP:
        let path = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "/"
        let exchange = HTTPExchange(wsi: wsi, loop: loop, path: path)
        OpaqueUserData.attach(exchange, to: wsi)
        return exchange.begin()
    case LWS_CALLBACK_HTTP_BODY:
        guard let exchange = HTTPExchange.of(wsi), let input else { return 0 }
        return exchange.body(UnsafeRawBufferPointer(start: input, count: length))
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return HTTPExchange.of(wsi)?.bodyComplete() ?? 0
    case LWS_CALLBACK_CLOSED_HTTP, LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        HTTPExchange.release(wsi)

    // WebSocket connections.
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return WebSocketConnection.admit(wsi, loop: loop)
    case LWS_CALLBACK_ESTABLISHED:
        let connection = WebSocketConnection(wsi: wsi, loop: loop)
        OpaqueUserData.attach(connection, to: wsi)
    case LWS_CALLBACK_RECEIVE:
        guard let connection = WebSocketConnection.of(wsi) else { return 0 }
        return connection.receive(UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return WebSocketConnection.of(wsi)?.writeable() ?? 0
    case LWS_CALLBACK_CLOSED:
        WebSocketConnection.release(wsi)

    default:
        break
    }
    return 0
}
