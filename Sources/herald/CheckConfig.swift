import ArgumentParser
import HeraldAuth
import HeraldCore

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkconfig", abstract: "Check a configuration file and report what is wrong with it.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        guard options.config != nil else { throw ValidationError("checkconfig needs --config FILE") }
        let (config, warnings) = try options.load()
        do {
            _ = try TokenAuthority(config: config)  // reads the token keys, as `serve` will
        } catch {
            throw ConfigurationFailure(description: "configuration: \(error)")
        }
        for warning in warnings { note("warning: \(warning)") }
        note("configuration OK")
    }
}
