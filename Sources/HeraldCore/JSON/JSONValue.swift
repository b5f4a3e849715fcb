/// A parsed JSON value. Numbers keep their source text, so nothing is lost or reformatted.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// One member of an object, with the byte range its value had in the parsed input (for verbatim pass-through).
public struct JSONMember: Equatable, Sendable {
    public let key: String
    public let value: JSONValue
    public let raw: Range<Int>
}

public struct JSONObject: Equatable, Sendable {
    /// In source order. With duplicate keys, lookups see the last one.
    public let members: [JSONMember]

    public subscript(key: String) -> JSONValue? {
        members.last { $0.key == key }?.value
    }

    public func rawRange(of key: String) -> Range<Int>? {
        members.last { $0.key == key }?.raw
    }
}

extension JSONValue {
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// Only for integers written without fraction or exponent, in range.
    public var uint64Value: UInt64? {
        if case .number(let text) = self { return UInt64(text) }
        return nil
    }

    public var int64Value: Int64? {
        if case .number(let text) = self { return Int64(text) }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }
}
