import CLibWebSockets
import HeraldCore

/// The one libwebsockets protocol callback. It recovers the event loop from the context's user pointer and
/// the per-connection object from the wsi's opaque user data, and hands each event to Swift code.
/// Returning non-zero closes the connection.
///
/// Frames queued while handling the event (fan-out, replies) are written before it returns, one write per
/// connection, so a reply precedes a close that the same event asks for.
func heraldCallback(
    _ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
    _ input: UnsafeMutableRawPointer?, _ length: Int
) -> Int32 {
    guard let wsi, let contextUser = lws_context_user(lws_get_context(wsi)) else { return 0 }
    let loop = Unmanaged<EventLoop>.fromOpaque(contextUser).takeUnretainedValue()
    let result = dispatch(wsi, reason, loop, input, length)
    loop.writeMarked()
    return result
}

private func dispatch(
    _ wsi: OpaquePointer, _ reason: lws_callback_reasons, _ loop: EventLoop,
    _ input: UnsafeMutableRawPointer?, _ length: Int
) -> Int32 {
    switch reason {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        loop.handleWakeUp()

    // Plain HTTP (the server API, health, Server-Sent Events), served by Herald on a raw socket.
    case LWS_CALLBACK_RAW_ADOPT:
        OpaqueUserData.attach(HTTPConnection(wsi: wsi, loop: loop), to: wsi)
    case LWS_CALLBACK_RAW_RX:
        guard let connection = HTTPConnection.of(wsi), let input else { return 0 }
        return connection.receive(UnsafeRawBufferPointer(start: input, count: length))
    case LWS_CALLBACK_RAW_WRITEABLE:
        return HTTPConnection.of(wsi)?.writeable() ?? 0
    case LWS_CALLBACK_RAW_CLOSE:
        HTTPConnection.release(wsi)

    // Without TLS, lws's HTTP role only gets connections whose first request asked for an upgrade; one that
    // turns out not to be an upgrade is answered and closed rather than kept alive in that role. With TLS
    // it gets every connection, and a plain request is served once (`TLSHTTPExchange`).
    case LWS_CALLBACK_HTTP:
        if lws_is_ssl(wsi) != 0 { return TLSHTTPExchange.begin(wsi, loop: loop) }
        return UpgradeRefusal.send(wsi, 400, "expected a WebSocket upgrade")
    case LWS_CALLBACK_HTTP_BODY:
        if let input { TLSHTTPExchange.of(wsi)?.receive(UnsafeRawBufferPointer(start: input, count: length)) }
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        TLSHTTPExchange.of(wsi)?.bodyComplete()
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return TLSHTTPExchange.of(wsi)?.writeable() ?? 0
    case LWS_CALLBACK_CLOSED_HTTP:
        TLSHTTPExchange.release(wsi)

    // WebSocket connections: the protocol's and raw data streams (`/ws/CHANNEL`).
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
