import CLibWebSockets

/// Reads request headers of a wsi while lws still holds them (during the HTTP and upgrade callbacks).
enum HTTPHeaders {
    static func value(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String? {
        let length = Int(lws_hdr_total_length(wsi, token))
        guard length > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: length + 1)
        guard lws_hdr_copy(wsi, &buffer, Int32(buffer.count), token) >= 0 else { return nil }
        return String(cString: buffer)
    }

    /// A header lws does not know by name; `name` is lower case with its colon, e.g. "x-api-key:".
    static func custom(_ wsi: OpaquePointer, _ name: String) -> String? {
        let nameLength = Int32(name.utf8.count)
        let length = Int(lws_hdr_custom_length(wsi, name, nameLength))
        guard length >= 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: length + 1)
        guard lws_hdr_custom_copy(wsi, &buffer, Int32(buffer.count), name, nameLength) >= 0 else { return nil }
        return String(cString: buffer)
    }

    /// The query string's parameters, which lws keeps decoded, one `name=value` fragment each.
    static func queryParameters(_ wsi: OpaquePointer) -> [(name: String, value: String)] {
        let length = Int(lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS))
        guard length > 0 else { return [] }
        var parameters: [(name: String, value: String)] = []
        var buffer = [CChar](repeating: 0, count: length + 1)
        var fragment: Int32 = 0
        while lws_hdr_copy_fragment(wsi, &buffer, Int32(buffer.count), WSI_TOKEN_HTTP_URI_ARGS, fragment) >= 0 {
            let text = String(cString: buffer)
            let equals = text.firstIndex(of: "=")
            parameters.append((equals.map { String(text[..<$0]) } ?? text,
                               equals.map { String(text[text.index(after: $0)...]) } ?? ""))
            fragment += 1
        }
        return parameters
    }

    /// The client's address as text ("127.0.0.1", "::1").
    static func peerAddress(_ wsi: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        guard lws_get_peer_simple(wsi, &buffer, buffer.count) != nil else { return nil }
        return String(cString: buffer)
    }

    static func peerIsLoopback(_ wsi: OpaquePointer) -> Bool {
        guard let peer = peerAddress(wsi) else { return false }
        return peer.hasPrefix("127.") || peer == "::1" || peer.hasPrefix("::ffff:127.")
    }
}
