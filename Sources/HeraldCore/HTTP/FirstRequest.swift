/// Routes a new connection by the first bytes its client sent (peeked, so they stay in the socket): a
/// WebSocket upgrade goes to libwebsockets, everything else to Herald's own HTTP/1.1 server. libwebsockets
/// 4.1 mishandles pipelined requests with bodies (it reads the next request's head as the body and then
/// spins), so it never serves a plain HTTP request here.
public enum FirstRequest: Equatable, Sendable {
    case webSocketUpgrade
    case plainHTTP
    /// The head has not fully arrived; look again when more bytes come.
    case undecided

    /// `isFull` says the peek buffer is full: a head that long is plain HTTP (it is refused with 431).
    public static func classify(_ bytes: UnsafeRawBufferPointer, isFull: Bool) -> FirstRequest {
        let get = Array("GET ".utf8)
        let prefix = min(bytes.count, get.count)
        guard bytes.prefix(prefix).elementsEqual(get.prefix(prefix)) else { return .plainHTTP }
        guard let headEnd = headEnd(in: bytes) else { return isFull ? .plainHTTP : .undecided }
        let lines = bytes[..<headEnd].split(separator: 0x0A)
        // More fields than libwebsockets keeps: the parser refuses it with 431 rather than lws dropping it.
        let target = lines.first?.split(separator: 0x20).dropFirst().first ?? []
        if HTTPRequestParser.fieldCount(target: target, headerLines: lines.count - 1) > HTTPRequestParser.maxFields {
            return .plainHTTP
        }
        // Header lines after the request line; an `Upgrade` naming websocket makes it an upgrade.
        for line in lines.dropFirst() {
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":"),
                  text[..<colon].lowercased() == "upgrade" else { continue }
            return namesWebSocket(String(text[text.index(after: colon)...])) ? .webSocketUpgrade : .plainHTTP
        }
        return .plainHTTP
    }

    public static func namesWebSocket(_ upgradeHeader: String) -> Bool {
        upgradeHeader.lowercased().contains("websocket")
    }

    private static func headEnd(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 0x0D && bytes[index + 1] == 0x0A && bytes[index + 2] == 0x0D && bytes[index + 3] == 0x0A {
            return index
        }
        return nil
    }
}
