import ArgumentParser
import Glibc
import HeraldCore
import HeraldTransport

struct Subscribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Subscribe to CHANNEL and print each publication's data, one line each, as it arrives.")

    @Argument(help: "Channel to subscribe to.") var channel: String
    @Option(help: "Herald's WebSocket endpoint.") var url = "ws://127.0.0.1:8000/connection/websocket"
    @Option(help: "Connection token, when the server requires one.") var token = ""
    @Option(help: """
        Start after this stream offset: the publications history still has after it, then live. On a channel \
        bridged from Kafka, offset N means from Kafka offset N on, read from Kafka where memory does not reach.
        """)
    var since: UInt64?

    func run() throws {
        guard let target = SubscribeClient.Target(url: url) else {
            throw ValidationError("expected a ws:// URL, got \(url)")
        }
        setvbuf(stdout, nil, _IOLBF, 0)
        let client = SubscribeClient(target: target, channel: channel, token: token, since: since,
            onPublication: { data in
                print(String(decoding: data, as: UTF8.self))
            },
            onEvent: { event in
                switch event {
                case .connected(let client): note("connected as \(client)")
                case .subscribed: note("subscribed to \(channel)")
                case .notRecovered: note("the position asked for is not in history (any more): live from now")
                case .failed(let reason): note("error: \(reason)")
                case .disconnected(let code, let reason, let reconnecting):
                    note("disconnected: \(reason.isEmpty ? "closed" : reason)\(code > 0 ? " (\(code))" : "")"
                         + (reconnecting ? ", reconnecting" : ""))
                }
            })
        let status = client.run()
        if status != 0 { throw ExitCode(status) }
    }
}

/// Status lines go to stderr so stdout carries publications only.
func note(_ text: String) {
    fputs("herald: \(text)\n", stderr)
}
