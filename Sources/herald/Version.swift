import ArgumentParser

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print Herald's version.")

    func run() {
        print("herald \(HeraldVersion.current)")
    }
}
