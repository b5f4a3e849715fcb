import CLibWebSockets
import Glibc
import HeraldCore

/// The terminal subscriber behind `herald subscribe`: a Centrifuge-protocol client on libwebsockets that
/// connects, subscribes to one channel and hands each publication's data to `onPublication`. Like the
/// SDKs, it answers server pings, reconnects (after a second) when the server's disconnect code allows, and
/// on a channel with history recovers what it missed meanwhile from the last position it saw. `since`
/// starts it from a position: the publications after that offset first, then live.
public final class SubscribeClient: @unchecked Sendable {
    public struct Target: Sendable {
        public var host: String
        public var port: Int
        public var path: String
        public init?(url: String) {
            guard url.hasPrefix("ws://") else { return nil }
            let rest = url.dropFirst("ws://".count)
            let authority = rest.prefix { $0 != "/" }
            let parts = authority.split(separator: ":")
            guard let host = parts.first else { return nil }
            self.host = String(host)
            port = parts.count > 1 ? Int(parts[1]) ?? 80 : 80
            let path = rest.dropFirst(authority.count)
            self.path = path.isEmpty ? "/connection/websocket" : String(path)
        }
    }

    public enum Event {
        case connected(client: String)
        case subscribed
        /// The subscribe could not continue from the position asked for: live from now.
        case notRecovered
        case failed(String)
        case disconnected(code: Int, reason: String, reconnecting: Bool)
    }

    private let target: Target
    private let channel: String
    private let token: String
    private let onPublication: ([UInt8]) -> Void
    private let onEvent: (Event) -> Void
    private var context: OpaquePointer?
    private var outgoing: [[UInt8]] = []
    private var incoming: [UInt8] = []
    private var closeCode = 0
    private var closeReason = ""
    private var finished = false
    private var connectionOpen = false
    /// The last position seen (offset, epoch); the next subscribe recovers from it.
    private var position: (offset: UInt64, epoch: String)?
    private let hostC: UnsafeMutablePointer<CChar>
    private let pathC: UnsafeMutablePointer<CChar>
    private static let protocolName = strdup("herald-subscribe")!

    public init(target: Target, channel: String, token: String, since: UInt64? = nil,
                onPublication: @escaping ([UInt8]) -> Void, onEvent: @escaping (Event) -> Void) {
        position = since.map { ($0, "") }
        self.target = target
        self.channel = channel
        self.token = token
        self.onPublication = onPublication
        self.onEvent = onEvent
        hostC = strdup(target.host)
        pathC = strdup(target.path)
    }

    deinit {
        free(hostC)
        free(pathC)
    }

    /// Runs until the server refuses or closes without reconnect advice; returns a process exit status.
    public func run() -> Int32 {
        let protocols = UnsafeMutablePointer<lws_protocols>.allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        defer { protocols.deallocate() }
        protocols[0].name = UnsafePointer(Self.protocolName)
        protocols[0].callback = subscribeClientCallback
        protocols[0].rx_buffer_size = 64 * 1024

        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        lws_set_log_level(0, nil)
        guard let context = lws_create_context(&info) else {
            onEvent(.failed("libwebsockets could not create a client context"))
            return 1
        }
        self.context = context
        defer { lws_context_destroy(context) }

        while !finished {
            connectionOpen = true
            connect()
            while connectionOpen && !finished {
                if lws_service(context, 0) < 0 { break }
            }
            if !finished { sleep(1) }
        }
        return closeCode == 0 || Disconnect(code: closeCode, reason: closeReason).reconnect ? 0 : 2
    }

    private func connect() {
        var info = lws_client_connect_info()
        info.context = context
        info.address = UnsafePointer(hostC)
        info.port = Int32(target.port)
        info.path = UnsafePointer(pathC)
        info.host = UnsafePointer(hostC)
        info.origin = UnsafePointer(hostC)
        info.local_protocol_name = UnsafePointer(Self.protocolName)
        info.ietf_version_or_minus_one = -1
        closeCode = 0
        closeReason = ""
        if lws_client_connect_via_info(&info) == nil {
            connectionLost("cannot connect to \(target.host):\(target.port)")
        }
    }

    fileprivate func handle(_ wsi: OpaquePointer, _ reason: lws_callback_reasons,
                            _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            var connect = JSONWriter()
            connect.appendRaw("{\"id\":1,\"connect\":{\"name\":\"herald-subscribe\"")
            if !token.isEmpty {
                connect.appendRaw(",\"token\":")
                connect.appendString(token)
            }
            connect.appendRaw("}}\n{\"id\":2,\"subscribe\":{\"channel\":")
            connect.appendString(channel)
            connect.appendRaw(",\"recoverable\":true")
            if let position {
                connect.appendRaw(",\"recover\":true,\"offset\":")
                connect.appendUInt64(position.offset)
                connect.appendRaw(",\"epoch\":")
                connect.appendString(position.epoch)
            }
            connect.appendRaw("}}")
            send(wsi, connect.bytes)
        case LWS_CALLBACK_CLIENT_RECEIVE:
            if let input { incoming.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length)) }
            if lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0 {
                let message = incoming
                incoming.removeAll(keepingCapacity: true)
                for line in message.split(separator: UInt8(ascii: "\n")) {
                    handleLine(wsi, line)
                }
            }
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            guard !outgoing.isEmpty else { return 0 }
            let message = outgoing.removeFirst()
            let pre = Int(herald_lws_pre)
            var buffer = [UInt8](repeating: 0, count: pre) + message
            let written = buffer.withUnsafeMutableBufferPointer {
                lws_write(wsi, $0.baseAddress! + pre, message.count, LWS_WRITE_TEXT)
            }
            if written < 0 { return -1 }
            if !outgoing.isEmpty { lws_callback_on_writable(wsi) }
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            if let input, length >= 2 {
                let bytes = UnsafeRawBufferPointer(start: input, count: length)
                closeCode = Int(bytes[0]) << 8 | Int(bytes[1])
                closeReason = String(decoding: bytes[2...], as: UTF8.self)
            }
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let detail = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "unknown error"
            connectionLost("connection failed: \(detail)")
        case LWS_CALLBACK_CLIENT_CLOSED:
            connectionLost(nil)
        default:
            break
        }
        return 0
    }

    private func handleLine(_ wsi: OpaquePointer, _ line: ArraySlice<UInt8>) {
        guard case .object(let reply)? = try? JSONParser.parse(line) else { return }
        if reply.members.isEmpty {
            send(wsi, Array("{}".utf8))  // pong
            return
        }
        if let error = reply["error"]?.objectValue {
            let message = error["message"]?.stringValue ?? "error"
            let code = error["code"]?.int64Value ?? 0
            onEvent(.failed("\(message) (code \(code))"))
            finished = true
            lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC)
            return
        }
        if let connect = reply["connect"]?.objectValue {
            onEvent(.connected(client: connect["client"]?.stringValue ?? ""))
        } else if let subscribe = reply["subscribe"]?.objectValue {
            onEvent(.subscribed)
            if let epoch = subscribe["epoch"]?.stringValue {
                position = (subscribe["offset"]?.uint64Value ?? 0, epoch)
            }
            if subscribe["was_recovering"]?.boolValue == true && subscribe["recovered"]?.boolValue != true {
                onEvent(.notRecovered)
            }
            for case .object(let publication) in subscribe["publications"]?.arrayValue ?? [] {
                guard let data = publication["data"] else { continue }
                var writer = JSONWriter()
                writer.append(data)
                deliver(writer.bytes, offset: publication["offset"]?.uint64Value)
            }
        } else if let push = reply["push"]?.objectValue, let publication = push["pub"]?.objectValue,
                  let range = publication.rawRange(of: "data") {
            deliver(Array(line[range]), offset: publication["offset"]?.uint64Value)
        } else if let push = reply["push"]?.objectValue, push["unsubscribe"] != nil {
            onEvent(.failed("unsubscribed by the server"))
            finished = true
        }
    }

    private func deliver(_ data: [UInt8], offset: UInt64?) {
        if let offset, position != nil { position!.offset = offset }
        onPublication(data)
    }

    private func send(_ wsi: OpaquePointer, _ message: [UInt8]) {
        outgoing.append(message)
        lws_callback_on_writable(wsi)
    }

    private func connectionLost(_ failure: String?) {
        guard connectionOpen else { return }
        connectionOpen = false
        if let failure {
            onEvent(.disconnected(code: 0, reason: failure, reconnecting: !finished))
            return
        }
        let reconnect = closeCode == 0 || Disconnect(code: closeCode, reason: closeReason).reconnect
        if !reconnect { finished = true }
        onEvent(.disconnected(code: closeCode, reason: closeReason, reconnecting: !finished))
    }
}

private func subscribeClientCallback(
    _ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
    _ input: UnsafeMutableRawPointer?, _ length: Int
) -> Int32 {
    guard let wsi, let contextUser = lws_context_user(lws_get_context(wsi)) else { return 0 }
    let client = Unmanaged<SubscribeClient>.fromOpaque(contextUser).takeUnretainedValue()
    return client.handle(wsi, reason, input, length)
}
