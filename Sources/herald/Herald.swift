import ArgumentParser

@main
struct Herald: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "Real-time pub/sub push gateway speaking the Centrifuge client protocol.",
        version: HeraldVersion.current,
        subcommands: [Serve.self, Publish.self, Subscribe.self, Token.self, GenConfig.self, CheckConfig.self, Version.self],
        defaultSubcommand: Serve.self
    )
}

enum HeraldVersion {
    static let current = "0.1.0"
}
