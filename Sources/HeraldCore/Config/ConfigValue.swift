import Yams

/// A type a configuration key can hold, decoded from a parsed file (JSON is parsed as YAML) or from an
/// environment variable's text. Decoding is strict: a port written as "8000" is an error, not a guess.
protocol ConfigValue: Sendable {
    /// `path` names the value in errors and warnings.
    static func decode(_ node: Yams.Node, at path: String, warnings: inout [String]) throws(ConfigError) -> Self
    /// The node an environment variable's text stands for.
    static func node(fromEnvironment text: String) -> Yams.Node
    /// The value as it is written in a JSON configuration file, for the configuration reference.
    var configText: String { get }
}

extension ConfigValue {
    /// Numbers, durations and objects are written in the environment as they would be in a YAML or JSON file.
    static func node(fromEnvironment text: String) -> Yams.Node {
        ((try? Yams.compose(yaml: text)) ?? nil) ?? Yams.Node(text, Tag(.str))
    }
}

extension String: ConfigValue {
    var configText: String {
        var writer = JSONWriter(capacity: utf8.count + 2)
        writer.appendString(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    static func decode(_ node: Yams.Node, at path: String, warnings: inout [String]) throws(ConfigError) -> String {
        guard node.tagName == .str, let scalar = node.scalar else { throw ConfigError(path, "expected a string") }
        return scalar.string
    }

    /// Taken literally: an API key of digits is still a string.
    static func node(fromEnvironment text: String) -> Yams.Node { Yams.Node(text, Tag(.str)) }
}

extension Bool: ConfigValue {
    var configText: String { self ? "true" : "false" }

    static func decode(_ node: Yams.Node, at path: String, warnings: inout [String]) throws(ConfigError) -> Bool {
        guard node.tagName == .bool, let value = node.bool else { throw ConfigError(path, "expected true or false") }
        return value
    }

    /// Go's `strconv.ParseBool` spellings, which Centrifugo's environment variables accept.
    static func node(fromEnvironment text: String) -> Yams.Node {
        switch text {
        case "1", "t", "T", "true", "TRUE", "True": Yams.Node("true", Tag(.bool))
        case "0", "f", "F", "false", "FALSE", "False": Yams.Node("false", Tag(.bool))
        default: Yams.Node(text, Tag(.str))
        }
    }
}

extension Int: ConfigValue {
    var configText: String { String(self) }

    static func decode(_ node: Yams.Node, at path: String, warnings: inout [String]) throws(ConfigError) -> Int {
        guard node.tagName == .int, let value = node.int else { throw ConfigError(path, "expected an integer") }
        return value
    }
}

extension Duration: ConfigValue {
    /// Whole seconds as "25s", else milliseconds as "500ms": every default is one or the other.
    var configText: String {
        let milliseconds = self.milliseconds
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    /// A Go duration string ("25s", "500ms", "1m30s") or a plain number of seconds.
    static func decode(_ node: Yams.Node, at path: String, warnings: inout [String]) throws(ConfigError) -> Duration {
        // Go's limit, so every duration also fits Int64 nanoseconds (about 292 years).
        let maxSeconds = Double(Int64.max / 1_000_000_000)
        switch node.tagName {
        case .str:
            if let text = node.scalar?.string, let duration = Duration(goSyntax: text) { return duration }
        case .int:
            if let seconds = node.int, Double(seconds).magnitude <= maxSeconds { return .seconds(seconds) }
        case .float:
            if let seconds = node.float, seconds.magnitude <= maxSeconds { return .seconds(seconds) }
        default:
            break
        }
        throw ConfigError(path, "expected a duration like \"25s\"")
    }
}

extension Array: ConfigValue where Element: ConfigValue {
    var configText: String { "[" + map(\.configText).joined(separator: ", ") + "]" }

    static func decode(_ node: Yams.Node, at path: String, warnings: inout [String]) throws(ConfigError) -> [Element] {
        guard let sequence = node.sequence else { throw ConfigError(path, "expected a list") }
        var elements: [Element] = []
        for (index, element) in sequence.enumerated() {
            elements.append(try Element.decode(element, at: "\(path)[\(index)]", warnings: &warnings))
        }
        return elements
    }

    /// A JSON array, or words separated by spaces as Centrifugo's environment variables have them.
    static func node(fromEnvironment text: String) -> Yams.Node {
        if text.drop(while: \.isWhitespace).hasPrefix("[") {
            return ((try? Yams.compose(yaml: text)) ?? nil) ?? Yams.Node(text, Tag(.str))
        }
        return Yams.Node(text.split(whereSeparator: \.isWhitespace).map { Yams.Node(String($0), Tag(.str)) })
    }
}

extension Namespace: ConfigValue {
    var configText: String { "{\"name\": \(name.configText), …}" }

    static func decode(_ node: Yams.Node, at path: String, warnings: inout [String]) throws(ConfigError) -> Namespace {
        var namespace = Namespace(name: "")
        try Namespace.keyTable.apply(node, to: &namespace, at: path, warnings: &warnings)
        return namespace
    }
}

extension KafkaBridgeConfig: ConfigValue {
    var configText: String { "{\"topic\": \(topic.configText), …}" }

    static func decode(_ node: Yams.Node, at path: String, warnings: inout [String]) throws(ConfigError) -> KafkaBridgeConfig {
        var bridge = KafkaBridgeConfig()
        try KafkaBridgeConfig.keyTable.apply(node, to: &bridge, at: path, warnings: &warnings)
        return bridge
    }
}

/// A flat object of settings passed through to a library (`kafka.librdkafka`): numbers and booleans are
/// kept as their text, as librdkafka takes every property as a string.
extension Dictionary: ConfigValue where Key == String, Value == String {
    var configText: String {
        "{" + sorted { $0.key < $1.key }.map { "\($0.key.configText): \($0.value.configText)" }.joined(separator: ", ") + "}"
    }

    static func decode(_ node: Yams.Node, at path: String, warnings: inout [String]) throws(ConfigError) -> [String: String] {
        guard let mapping = node.mapping else { throw ConfigError(path, "expected an object") }
        var result: [String: String] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string, let text = value.scalar?.string else {
                throw ConfigError(path, "expected an object of plain values")
            }
            result[name] = text
        }
        return result
    }
}

extension Yams.Node {
    /// The resolved YAML type (`.str`, `.int`, `.bool`, `.null`...); Yams keeps `Tag.name` internal.
    var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}

/// Options whose value is one of a few names.
extension ConfigValue where Self: RawRepresentable & CaseIterable, RawValue == String {
    var configText: String { rawValue.configText }

    static func decode(_ node: Yams.Node, at path: String, warnings: inout [String]) throws(ConfigError) -> Self {
        let text = try String.decode(node, at: path, warnings: &warnings)
        guard let value = Self(rawValue: text) else {
            let names = allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw ConfigError(path, "expected one of \(names), got \"\(text)\"")
        }
        return value
    }

    static func node(fromEnvironment text: String) -> Yams.Node { Yams.Node(text, Tag(.str)) }
}

extension RecoveryMode: ConfigValue {}
extension Durability: ConfigValue {}
extension RecordDataFormat: ConfigValue {}
extension BridgeStart: ConfigValue {}
