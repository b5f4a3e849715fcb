/// Why and where parsing stopped. `offset` counts bytes from the start of the parsed input, so it points at
/// the offending byte whatever kind of collection was parsed.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public let offset: Int
    public let reason: String

    public var description: String { "\(reason) at byte \(offset)" }
}
