import ArgumentParser
import FoundationEssentials
import HeraldCore

struct GenConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genconfig",
        abstract: "Write a production-style configuration with fresh random secrets.")

    @Option(name: [.short, .long], help: "File to write.") var output = "config.json"
    @Flag(help: "Overwrite an existing file.") var force = false

    func run() throws {
        if FileManager.default.fileExists(atPath: output) && !force {
            throw ValidationError("\(output) exists; use --force to overwrite it")
        }
        try ConfigLoader.generateConfig().write(toFile: output, atomically: true, encoding: .utf8)
        note("wrote \(output)")
    }
}
