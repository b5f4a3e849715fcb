import ArgumentParser
import HeraldCore
import HeraldTransport
import Logging

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default command).")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let (config, warnings) = try options.load()
        var logger = Logger(label: "herald")
        logger.logLevel = Logger.Level(configName: config.log.level)
        // The loader's warnings include development mode's, which must be loud: it allows anonymous access.
        for warning in warnings { logger.warning("\(warning)") }
        let server: Server
        do {
            server = try Server(config: config, version: HeraldVersion.current, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        server.run()
    }
}

extension Logger.Level {
    init(configName: String) {
        switch configName.lowercased() {
        case "trace": self = .trace
        case "debug": self = .debug
        case "warn", "warning": self = .warning
        case "error": self = .error
        case "none": self = .critical
        default: self = .info
        }
    }
}
