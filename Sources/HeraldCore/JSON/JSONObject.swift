/// One member of an object, with the byte range its value had in the parsed input, so publication data can be
/// passed through verbatim.
public struct JSONMember: Equatable, Sendable {
    public let key: String
    public let value: JSONValue
    public let raw: Range<Int>
}

public struct JSONObject: Equatable, Sendable {
    /// In source order. With duplicate keys, lookups see the last one (as most JSON libraries do).
    public let members: [JSONMember]

    public subscript(key: String) -> JSONValue? {
        members.last { $0.key == key }?.value
    }

    public func rawRange(of key: String) -> Range<Int>? {
        members.last { $0.key == key }?.raw
    }
}
