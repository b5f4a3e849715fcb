import ArgumentParser
import HeraldCore

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkconfig", abstract: "Check a configuration file and report what is wrong with it.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        guard options.config != nil else { throw ValidationError("checkconfig needs --config FILE") }
        let (_, warnings) = try options.load()
        for warning in warnings { note("warning: \(warning)") }
        note("configuration OK")
    }
}
