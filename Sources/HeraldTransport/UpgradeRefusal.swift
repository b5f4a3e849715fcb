import CLibWebSockets
import HeraldCore

/// Answers a connection that libwebsockets holds in its HTTP role (an upgrade request) with an error and
/// closes it. Written by hand as HTTP/1.1: lws's helpers answer an upgrade request as HTTP/1.0, which
/// WebSocket clients reject as malformed instead of reporting the status.
enum UpgradeRefusal {
    /// Returns 1, which tells lws in `LWS_CALLBACK_HTTP_CONFIRM_UPGRADE` that the response is written, or -1.
    static func send(_ wsi: OpaquePointer, _ status: Int, _ message: String) -> Int32 {
        let pre = Int(herald_lws_pre)
        var response = [UInt8](repeating: 0, count: pre)
        response += HTTPResponse.error(status, message, closesConnection: true).serialized(keepAlive: false)
        let written = response.withUnsafeMutableBufferPointer {
            lws_write(wsi, $0.baseAddress! + pre, $0.count - pre, LWS_WRITE_HTTP_FINAL)
        }
        return written < 0 ? -1 : 1
    }
}
