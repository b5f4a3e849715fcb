import FoundationEssentials

/// How a record's value becomes publication data, and back when Herald produces a publication to Kafka.
public enum RecordDataFormat: String, Sendable, Equatable, CaseIterable {
    /// The value is JSON and is published as it is.
    case json
    /// The value is UTF-8 text, published as a JSON string.
    case string
    /// Any bytes, published as a JSON string of their base64.
    case base64

    /// The publication data for a record value, or why there is none.
    func publicationData(_ value: [UInt8]) -> Result<[UInt8], RecordProblem> {
        switch self {
        case .json:
            guard (try? JSONParser.parse(value)) != nil else { return .failure(.notJSON) }
            return .success(value)
        case .string:
            guard let text = String(validating: value, as: UTF8.self) else { return .failure(.notUTF8) }
            return .success(Self.jsonString(text))
        case .base64:
            return .success(Self.jsonString(Data(value).base64EncodedString()))
        }
    }

    /// The record value for publication data (valid JSON); nil when this format cannot carry it (`string`
    /// and `base64` need a JSON string, `base64` one of base64).
    func recordValue(_ data: [UInt8]) -> [UInt8]? {
        switch self {
        case .json:
            return data
        case .string:
            guard case .string(let text)? = try? JSONParser.parse(data) else { return nil }
            return Array(text.utf8)
        case .base64:
            guard case .string(let text)? = try? JSONParser.parse(data),
                  let bytes = Data(base64Encoded: text) else { return nil }
            return Array(bytes)
        }
    }

    private static func jsonString(_ text: String) -> [UInt8] {
        var writer = JSONWriter(capacity: text.utf8.count + 2)
        writer.appendString(text)
        return writer.bytes
    }
}

/// Why a record was not published: each kind is counted and logged once.
public enum RecordProblem: String, Error, Sendable, CaseIterable {
    case noKey = "record has no key for {key}"
    case missingHeader = "record lacks the header the channel template names"
    case badChannel = "the channel the template gives is not valid, in no namespace, or in a durable one"
    case noValue = "record has no value"
    case notJSON = "value is not valid JSON (data: json)"
    case notUTF8 = "value is not UTF-8 text (data: string)"
}
