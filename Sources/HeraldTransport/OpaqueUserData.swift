import CLibWebSockets

/// The Swift object that owns a wsi's state (an `HTTPConnection` or a `WebSocketConnection`), kept in the
/// wsi's opaque user pointer with one retain that `detach` gives back.
enum OpaqueUserData {
    static func attach(_ object: AnyObject, to wsi: OpaquePointer) {
        lws_set_opaque_user_data(wsi, Unmanaged.passRetained(object).toOpaque())
    }

    static func object(of wsi: OpaquePointer) -> AnyObject? {
        guard let pointer = lws_get_opaque_user_data(wsi) else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue()
    }

    static func detach(from wsi: OpaquePointer) {
        guard let pointer = lws_get_opaque_user_data(wsi) else { return }
        lws_set_opaque_user_data(wsi, nil)
        Unmanaged<AnyObject>.fromOpaque(pointer).release()
    }
}
