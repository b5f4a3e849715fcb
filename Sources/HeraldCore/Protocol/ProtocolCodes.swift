/// Every error and disconnect code Herald sends, in one place, with the Centrifuge protocol's numbers and texts.
///
/// Error codes (100–199) answer one command and leave the connection open. Disconnect codes close the
/// connection: 3000–3499 tell the SDK to reconnect, 3500–3999 tell it not to. Close reasons stay under the
/// 123 bytes a WebSocket close frame allows.
public struct ProtocolError: Error, Equatable, Sendable {
    public let code: Int
    public let message: String

    public static let internalError = ProtocolError(code: 100, message: "internal server error")
    public static let unauthorized = ProtocolError(code: 101, message: "unauthorized")
    public static let unknownChannel = ProtocolError(code: 102, message: "unknown channel")
    public static let permissionDenied = ProtocolError(code: 103, message: "permission denied")
    public static let methodNotFound = ProtocolError(code: 104, message: "method not found")
    public static let alreadySubscribed = ProtocolError(code: 105, message: "already subscribed")
    public static let limitExceeded = ProtocolError(code: 106, message: "limit exceeded")
    public static let badRequest = ProtocolError(code: 107, message: "bad request")
    public static let notAvailable = ProtocolError(code: 108, message: "not available")
    public static let tokenExpired = ProtocolError(code: 109, message: "token expired")
    public static let expired = ProtocolError(code: 110, message: "expired")
    public static let tooManyRequests = ProtocolError(code: 111, message: "too many requests")
    public static let unrecoverablePosition = ProtocolError(code: 112, message: "unrecoverable position")
}

public struct Disconnect: Error, Equatable, Sendable {
    public let code: Int
    public let reason: String

    public init(code: Int, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// Whether the SDK should reconnect, as the protocol derives it from the code range.
    public var reconnect: Bool { code < 3500 || code >= 5000 }

    public static let connectionClosed = Disconnect(code: 3000, reason: "connection closed")
    public static let shutdown = Disconnect(code: 3001, reason: "shutdown")
    public static let serverError = Disconnect(code: 3004, reason: "internal server error")
    public static let expired = Disconnect(code: 3005, reason: "connection expired")
    public static let slow = Disconnect(code: 3008, reason: "slow")
    public static let writeError = Disconnect(code: 3009, reason: "write error")
    public static let forceReconnect = Disconnect(code: 3011, reason: "force reconnect")
    public static let noPong = Disconnect(code: 3012, reason: "no pong")
    public static let tooManyRequests = Disconnect(code: 3013, reason: "too many requests")
    public static let invalidToken = Disconnect(code: 3500, reason: "invalid token")
    public static let badRequest = Disconnect(code: 3501, reason: "bad request")
    public static let stale = Disconnect(code: 3502, reason: "stale")
    public static let forceNoReconnect = Disconnect(code: 3503, reason: "force disconnect")
    public static let connectionLimit = Disconnect(code: 3504, reason: "connection limit")
    public static let channelLimit = Disconnect(code: 3505, reason: "channel limit")
    public static let inappropriateProtocol = Disconnect(code: 3506, reason: "inappropriate protocol")
    public static let permissionDenied = Disconnect(code: 3507, reason: "permission denied")
    public static let notAvailable = Disconnect(code: 3508, reason: "not available")
}

/// Codes of the unsubscribe push.
public struct UnsubscribeReason: Equatable, Sendable {
    public let code: Int
    public let reason: String

    public static let server = UnsubscribeReason(code: 2000, reason: "server unsubscribe")
    /// The subscriber's position no longer matches the stream (its epoch changed): the SDK resubscribes and
    /// recovers (codes from 2500 tell it to).
    public static let insufficientState = UnsubscribeReason(code: 2500, reason: "insufficient state")
    /// The subscription token expired and was not refreshed: the SDK resubscribes with a new one.
    public static let expired = UnsubscribeReason(code: 2501, reason: "subscription expired")
}

/// WebSocket close codes (RFC 6455) used below the protocol's own.
public enum WebSocketCloseCode {
    public static let goingAway = 1001
    public static let unsupportedData = 1003
    public static let invalidPayload = 1007
    public static let policyViolation = 1008
    public static let messageTooBig = 1009
    /// A raw WebSocket data stream's `since` is older than the channel's history: 4000 + error 112.
    public static let unrecoverablePosition = 4112
}
