import ArgumentParser
import FoundationEssentials
import HeraldCore
import HeraldTransport

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish DATA (JSON) to CHANNEL through the HTTP API.")

    @Argument(help: "Channel to publish to.") var channel: String
    @Argument(help: "Publication data, a JSON value (a bare word is sent as a JSON string).") var data: String
    @Option(help: "Herald's HTTP address.") var api = "http://127.0.0.1:8000"
    @Option(help: "API key (or HERALD_HTTP_API_KEY).") var apiKey: String?

    func run() throws {
        let payload = (try? JSONParser.parse(Array(data.utf8))) != nil ? Array(data.utf8) : quoted(data)
        var body = JSONWriter()
        body.appendRaw("{\"channel\":")
        body.appendString(channel)
        body.appendRaw(",\"data\":")
        body.appendRaw(payload)
        body.appendRaw("}")
        let key = apiKey ?? ProcessInfo.processInfo.environment["HERALD_HTTP_API_KEY"]
        let response: HTTPPost.Response
        do {
            response = try HTTPPost.send(base: api, path: "/api/publish", body: body.bytes,
                                         headers: key.map { ["X-API-Key": $0] } ?? [:])
        } catch {
            throw ValidationError("\(error)")
        }
        print(response.body)
        guard response.status == 200, !response.body.contains("\"error\"") else { throw ExitCode(1) }
    }

    private func quoted(_ text: String) -> [UInt8] {
        var writer = JSONWriter()
        writer.appendString(text)
        return writer.bytes
    }
}
