/// A configuration that cannot be used, naming where the problem is: a key path
/// ("client.ping_interval", "channel.namespaces[1].name"), an environment variable or the file.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var problem: String

    public init(_ path: String, _ problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
