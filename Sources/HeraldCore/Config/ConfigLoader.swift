import FoundationEssentials
import Yams

/// Values given on the command line, which win over the environment and the file.
public struct ConfigOverrides: Sendable {
    /// `http_server.port`.
    public var port: Int?
    /// `http_server.address`.
    public var address: String?
    /// `log.level`.
    public var logLevel: String?

    public init(port: Int? = nil, address: String? = nil, logLevel: String? = nil) {
        self.port = port
        self.address = address
        self.logLevel = logLevel
    }
}

/// Builds the configuration from its sources: defaults, then the file, then `HERALD_*` environment
/// variables, then command-line overrides; the result is validated.
public struct ConfigLoader {
    static let developmentWarning =
        "no configuration file: development mode, anonymous access and client publishing allowed, do not use in production"

    /// `file` is JSON or YAML (by extension .json, .yaml or .yml, otherwise JSON if it starts with `{`);
    /// without one the base is `.development` instead of `.secureDefaults`, and environment variables and
    /// overrides still apply. Unknown keys and unknown `HERALD_*` variables are returned as warnings, as
    /// Centrifugo logs them, not refused.
    public static func load(file: String?, environment: [String: String], overrides: ConfigOverrides)
        throws(ConfigError) -> (config: HeraldConfig, warnings: [String])
    {
        var warnings: [String] = []
        var config: HeraldConfig
        if let file {
            config = .secureDefaults
            try HeraldConfig.keyTable.apply(try parse(file: file), to: &config, at: "", warnings: &warnings)
        } else {
            config = .development
            warnings.append(developmentWarning)
        }
        try applyEnvironment(environment, to: &config, warnings: &warnings)
        if let port = overrides.port { config.httpServer.port = port }
        if let address = overrides.address { config.httpServer.address = address }
        if let logLevel = overrides.logLevel { config.log.level = logLevel }
        try config.validate()
        return (config, warnings)
    }

    /// The file's top-level object. Yams reads both formats (JSON is YAML); the format only names the
    /// file's syntax in errors.
    private static func parse(file: String) throws(ConfigError) -> Yams.Node {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(file, "cannot read configuration file: \(error.localizedDescription)")
        }
        let format: String
        switch fileExtension(of: file) {
        case "json": format = "JSON"
        case "yaml", "yml": format = "YAML"
        default: format = text.drop(while: \.isWhitespace).hasPrefix("{") ? "JSON" : "YAML"
        }
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError(file, "invalid \(format): \(error)")
        }
        // An empty file is an empty configuration: the secure defaults.
        guard let root else { return [:] }
        guard root.mapping != nil else { throw ConfigError(file, "expected a \(format) object at the top level") }
        return root
    }

    /// Environment variable names, built from the key list: `_` both separates and appears inside key
    /// names, so names are matched whole rather than split.
    private static let environmentKeys = Dictionary(uniqueKeysWithValues: HeraldConfig.keyTable.keys.map { key in
        ("HERALD_" + key.path.uppercased().replacingOccurrences(of: ".", with: "_"), key)
    })

    private static func applyEnvironment(_ environment: [String: String], to config: inout HeraldConfig,
                                         warnings: inout [String]) throws(ConfigError) {
        for (name, text) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("HERALD_") {
            if let key = environmentKeys[name] {
                try key.store(&config, key.environmentNode(text), name, &warnings)
            } else if !isKubernetesServiceVariable(name) {
                warnings.append("unknown environment variable \(name) ignored")
            }
        }
    }

    /// Kubernetes sets `HERALD_SERVICE_HOST`, `HERALD_PORT_8000_TCP` and the like for a Service named
    /// `herald`; Centrifugo skips the same pattern rather than warn.
    private static func isKubernetesServiceVariable(_ name: String) -> Bool {
        name.contains("_PORT") || name.contains("_SERVICE_")
    }
}

extension ConfigLoader {
    /// "json" for "/etc/herald/config.JSON"; "" when the file name has no extension.
    static func fileExtension(of path: String) -> String {
        let name = path.split(separator: "/").last ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }
}
