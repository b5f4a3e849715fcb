import Yams

/// One configuration key: its dotted path ("client.ping_interval") and how a value is stored into `Root`.
struct ConfigKey<Root>: Sendable {
    let path: String
    /// Decodes `node` into `root`; the string names the value in errors and warnings.
    let store: @Sendable (_ root: inout Root, _ node: Yams.Node, _ at: String, _ warnings: inout [String])
        throws(ConfigError) -> Void
    /// The node an environment variable's text stands for, which depends on the value's type.
    let environmentNode: @Sendable (String) -> Yams.Node
    /// The key's value in `root` as a configuration file writes it.
    let text: @Sendable (_ root: Root) -> String

    init<Value: ConfigValue>(_ path: String, _ field: WritableKeyPath<Root, Value> & Sendable) {
        self.path = path
        store = { root, node, at, warnings throws(ConfigError) in
            root[keyPath: field] = try Value.decode(node, at: at, warnings: &warnings)
        }
        environmentNode = { Value.node(fromEnvironment: $0) }
        text = { $0[keyPath: field].configText }
    }

    private init(path: String,
                 store: @escaping @Sendable (inout Root, Yams.Node, String, inout [String]) throws(ConfigError) -> Void,
                 environmentNode: @escaping @Sendable (String) -> Yams.Node,
                 text: @escaping @Sendable (Root) -> String) {
        self.path = path
        self.store = store
        self.environmentNode = environmentNode
        self.text = text
    }

    /// This key as a key of `Outer`, which holds a `Root` at `field` under the object `prefix` ("" for
    /// none: namespace options sit beside `name` in a namespace object).
    func nested<Outer>(under prefix: String, at field: WritableKeyPath<Outer, Root> & Sendable) -> ConfigKey<Outer> {
        let store = store
        let text = text
        return ConfigKey<Outer>(
            path: prefix.isEmpty ? path : prefix + "." + path,
            store: { outer, node, at, warnings throws(ConfigError) in
                try store(&outer[keyPath: field], node, at, &warnings)
            },
            environmentNode: environmentNode,
            text: { text($0[keyPath: field]) })
    }
}

/// The keys of one object type, indexed for walking a parsed file.
struct ConfigKeyTable<Root>: Sendable {
    let keys: [ConfigKey<Root>]
    private let byPath: [String: ConfigKey<Root>]
    /// Every object holding keys: "client" and "client.token" for "client.token.hmac_secret_key".
    private let sections: Set<String>

    init(_ keys: [ConfigKey<Root>]) {
        self.keys = keys
        byPath = Dictionary(uniqueKeysWithValues: keys.map { ($0.path, $0) })
        sections = Set(keys.flatMap { key in
            key.path.indices.filter { key.path[$0] == "." }.map { String(key.path[..<$0]) }
        })
    }

    /// Stores the known keys of `object` (a mapping) into `root`; unknown keys become warnings, as in
    /// Centrifugo, so a Centrifugo configuration loads with its unsupported parts named. `location` is
    /// where `object` is, "" for the top level.
    func apply(_ object: Yams.Node, to root: inout Root, at location: String, warnings: inout [String]) throws(ConfigError) {
        try apply(object, section: "", to: &root, at: location, warnings: &warnings)
    }

    private func apply(_ object: Yams.Node, section: String, to root: inout Root, at location: String,
                       warnings: inout [String]) throws(ConfigError) {
        guard let mapping = object.mapping else { throw ConfigError(location, "expected an object") }
        for (keyNode, value) in mapping {
            let name = keyNode.scalar?.string ?? "\(keyNode)"
            let path = section.isEmpty ? name : section + "." + name
            let here = location.isEmpty ? name : location + "." + name
            // `key: null` (or `key:` in YAML) leaves the default, as in Centrifugo.
            if value.tagName == .null { continue }
            if let key = byPath[path] {
                try key.store(&root, value, here, &warnings)
            } else if sections.contains(path) {
                try apply(value, section: path, to: &root, at: here, warnings: &warnings)
            } else {
                warnings.append("unknown key \(here) ignored")
            }
        }
    }
}
