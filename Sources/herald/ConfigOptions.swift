import ArgumentParser
import FoundationEssentials
import HeraldCore

/// The options every command that reads the configuration shares: file, then `HERALD_*` environment
/// variables, then these flags.
struct ConfigOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Configuration file (JSON or YAML). Without one Herald runs in development mode.")
    var config: String?

    @Option(help: "Port to listen on (http_server.port).")
    var port: Int?

    @Option(help: "Address to listen on (http_server.address).")
    var address: String?

    @Option(help: "Log level: trace, debug, info, warn, error, none (log.level).")
    var logLevel: String?

    func load() throws -> (config: HeraldConfig, warnings: [String]) {
        do {
            return try ConfigLoader.load(
                file: config, environment: ProcessInfo.processInfo.environment,
                overrides: ConfigOverrides(port: port, address: address, logLevel: logLevel))
        } catch {
            throw ConfigurationFailure(description: "configuration: \(error)")
        }
    }
}

/// A configuration problem: reported as one line naming the key, without the usage text that
/// `ValidationError` would add.
struct ConfigurationFailure: Error, CustomStringConvertible {
    let description: String
}
