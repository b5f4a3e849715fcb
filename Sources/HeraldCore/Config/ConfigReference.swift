/// Every configuration key with its default as a JSON file writes it: the configuration reference. The
/// README's tables are checked against it by a unit test, so they cannot drift from the code.
extension HeraldConfig {
    public static func reference() -> [(key: String, defaultValue: String)] {
        let defaults = HeraldConfig()
        return keyTable.keys.map { ($0.path, $0.text(defaults)) }
    }

    /// The options of one namespace (`channel.without_namespace` or an entry of `channel.namespaces`).
    public static func namespaceReference() -> [(key: String, defaultValue: String)] {
        let defaults = NamespaceOptions()
        return NamespaceOptions.keys.map { ($0.path, $0.text(defaults)) }
    }
}
