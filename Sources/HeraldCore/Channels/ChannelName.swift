/// A channel name checked once at the edge: `namespace:name`, or a bare name in no namespace.
///
/// Herald accepts any printable name up to `channel.max_length` bytes; whitespace and control characters are
/// refused because they break logs, SSE and URL paths. A `#` starts the user-limited part (`chat#42,43`).
/// A name starting with the private prefix (`$`) is private: only a subscription token admits to it; the
/// namespace is read after the prefix (`$chat:room` is in `chat`), as in Centrifugo.
public struct ChannelName: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    /// The part before the first `:`, or "" for channels without a namespace.
    public let namespace: String
    /// Users named after `#`, for user-limited channels; empty when the channel has no `#`.
    public let allowedUsers: [Substring]
    /// Starts with `channel.private_prefix`.
    public let isPrivate: Bool

    public var description: String { value }

    public enum Invalid: Error, Equatable, Sendable {
        case empty, tooLong, forbiddenCharacter
    }

    public init(_ value: String, maxLength: Int, privatePrefix: String = "") throws(Invalid) {
        if value.isEmpty { throw .empty }
        if value.utf8.count > maxLength { throw .tooLong }
        for byte in value.utf8 where byte <= 0x20 || byte == 0x7F {
            throw .forbiddenCharacter
        }
        self.value = value
        isPrivate = !privatePrefix.isEmpty && value.hasPrefix(privatePrefix)
        let unprefixed = isPrivate ? value.dropFirst(privatePrefix.count) : value[...]
        if let colon = unprefixed.firstIndex(of: ":") {
            namespace = String(unprefixed[..<colon])
        } else {
            namespace = ""
        }
        if let hash = value.firstIndex(of: "#") {
            allowedUsers = value[value.index(after: hash)...].split(separator: ",")
        } else {
            allowedUsers = []
        }
    }

    public var isUserLimited: Bool { value.contains("#") }
}
