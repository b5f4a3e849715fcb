/// A parsed JSON value. Numbers keep their source text, so nothing is lost or reformatted.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The literal text; the parser only produces text that is a valid RFC 8259 number.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
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

    /// Only for integers written without fraction or exponent that fit (`-0` is 0); nil otherwise.
    public var uint64Value: UInt64? {
        guard let integer else { return nil }
        return integer.negative && integer.magnitude != 0 ? nil : integer.magnitude
    }

    /// Only for integers written without fraction or exponent that fit; nil otherwise.
    public var int64Value: Int64? {
        guard let integer else { return nil }
        if integer.negative {
            // Int64.min's magnitude is one more than Int64.max; wrapping negation maps it exactly.
            guard integer.magnitude <= Int64.min.magnitude else { return nil }
            return Int64(truncatingIfNeeded: 0 &- integer.magnitude)
        }
        guard integer.magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(integer.magnitude)
    }

    /// Nearest double; nil for numbers too large to be finite, so overflow is not silently infinity.
    public var doubleValue: Double? {
        guard case .number(let text) = self, let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// Sign and magnitude of a JSON integer (`-`? then digits, no leading zeros), or nil if the text is anything
    /// else or the magnitude overflows. Parsed by hand because `UInt64(String)` would also accept `+1` and `007`.
    private var integer: (negative: Bool, magnitude: UInt64)? {
        guard case .number(let text) = self else { return nil }
        var utf8 = text.utf8[...]
        let negative = utf8.first == UInt8(ascii: "-")
        if negative { utf8 = utf8.dropFirst() }
        guard let first = utf8.first, utf8.count == 1 || first != UInt8(ascii: "0") else { return nil }
        var magnitude: UInt64 = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            magnitude = sum
        }
        return (negative, magnitude)
    }
}
