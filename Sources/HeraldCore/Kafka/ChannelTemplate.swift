/// A bridge's channel template such as `orders:{key}`: text and the placeholders `{topic}`, `{partition}`,
/// `{key}` and `{header:NAME}`. It maps a record to its channel, and a channel back to the record fields
/// that map to it, for publishing.
struct ChannelTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case text(String)
        case partition
        case key
        case header(String)
    }

    /// `{topic}` is replaced by the topic at parse time, and adjacent text joined.
    let parts: [Part]

    init(_ template: String, topic: String) throws(TemplateError) {
        var parts: [Part] = []
        var rest = Substring(template)
        func appendText(_ text: some StringProtocol) {
            guard !text.isEmpty else { return }
            if case .text(let before)? = parts.last {
                parts[parts.count - 1] = .text(before + text)
            } else {
                parts.append(.text(String(text)))
            }
        }
        while let open = rest.firstIndex(of: "{") {
            if rest[..<open].contains("}") { throw TemplateError("unmatched }") }
            appendText(rest[..<open])
            guard let close = rest[open...].firstIndex(of: "}") else { throw TemplateError("unclosed {") }
            let name = rest[rest.index(after: open)..<close]
            switch name {
            case "topic": appendText(topic)
            case "partition": parts.append(.partition)
            case "key": parts.append(.key)
            case _ where name.hasPrefix("header:") && name.count > 7: parts.append(.header(String(name.dropFirst(7))))
            default: throw TemplateError("unknown placeholder {\(name)} (use {topic}, {partition}, {key} or {header:NAME})")
            }
            // Without text between them, a channel could not be split back into their values.
            if parts.count >= 2, !Self.isText(parts[parts.count - 1]), !Self.isText(parts[parts.count - 2]) {
                throw TemplateError("two placeholders must be separated by text")
            }
            rest = rest[rest.index(after: close)...]
        }
        appendText(rest)
        if rest.contains("}") { throw TemplateError("unmatched }") }
        guard !parts.isEmpty else { throw TemplateError("empty") }
        self.parts = parts
    }

    struct TemplateError: Error, Equatable {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    private static func isText(_ part: Part) -> Bool {
        if case .text = part { return true }
        return false
    }

    /// The namespace of every channel this template gives, when the template alone decides it: the text
    /// before the first ':' when the template starts with text holding one; "" (no namespace) when no text
    /// holds a ':' and only partition numbers (never a ':') fill the placeholders; nil when a key or header
    /// value could bring its own ':'.
    var namespace: String? {
        if case .text(let text)? = parts.first, let colon = text.firstIndex(of: ":") { return String(text[..<colon]) }
        let textHasColon = parts.contains { if case .text(let text) = $0 { text.contains(":") } else { false } }
        let onlyPartitions = parts.allSatisfy { if case .text = $0 { true } else { $0 == .partition } }
        return !textHasColon && onlyPartitions ? "" : nil
    }

    /// The channel of `record`, or why it has none.
    func channel(for record: KafkaRecord) -> Result<String, RecordProblem> {
        var channel = ""
        for part in parts {
            switch part {
            case .text(let text): channel += text
            case .partition: channel += String(record.partition)
            case .key:
                guard let key = record.key, !key.isEmpty, let text = String(validating: key, as: UTF8.self) else {
                    return .failure(.noKey)
                }
                channel += text
            case .header(let name):
                guard let value = record.header(name), !value.isEmpty,
                      let text = String(validating: value, as: UTF8.self) else { return .failure(.missingHeader) }
                channel += text
            }
        }
        return .success(channel)
    }

    /// What a record carries that decides its channel.
    typealias Fields = (partition: Int32?, key: [UInt8]?, headers: [(name: String, value: [UInt8])])

    /// The record fields that map back to `channel`; nil when `channel` is not one of this template's.
    /// A placeholder's value runs to the next occurrence of the text after it.
    func fields(of channel: String) -> Fields? {
        var rest = Substring(channel)
        var partition: Int32?
        var key: [UInt8]?
        var headers: [(name: String, value: [UInt8])] = []
        for (index, part) in parts.enumerated() {
            let value: Substring
            switch part {
            case .text(let text):
                guard rest.hasPrefix(text) else { return nil }
                rest = rest.dropFirst(text.count)
                continue
            default:
                if index + 1 < parts.count, case .text(let next) = parts[index + 1] {
                    guard let end = rest.firstRange(of: next)?.lowerBound else { return nil }
                    value = rest[..<end]
                } else {
                    value = rest
                }
                rest = rest[value.endIndex...]
            }
            guard !value.isEmpty else { return nil }
            switch part {
            case .partition:
                // Only the form the template writes ("1", not "01" or "+1") maps back to the same channel.
                guard let number = Int32(value), number >= 0, String(number) == value,
                      partition == nil || partition == number else { return nil }
                partition = number
            case .key:
                guard key == nil || key! == Array(value.utf8) else { return nil }
                key = Array(value.utf8)
            case .header(let name):
                // A record has one value per header name (the last): both places must agree.
                if let earlier = headers.first(where: { $0.name == name }) {
                    guard earlier.value == Array(value.utf8) else { return nil }
                } else {
                    headers.append((name, Array(value.utf8)))
                }
            case .text:
                break
            }
        }
        return rest.isEmpty ? (partition, key, headers) : nil
    }
}
