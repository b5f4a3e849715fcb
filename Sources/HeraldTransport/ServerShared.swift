import HeraldCore
import Logging
import Synchronization

/// What every event loop of one server reads: the node, the API, the settings and the connection count.
final class ServerShared: Sendable {
    let settings: TransportSettings
    let endpoints: HTTPEndpoints
    let logger: Logger
    /// Open client connections (WebSocket and data streams), node-wide, for `client.connection_limit`; a
    /// shutdown waits for them to go.
    let clientConnections = Atomic<Int>(0)
    /// Open client connections per client address, for `herald.connections_per_ip`.
    let connectionsPerAddress: ConnectionsPerAddress
    /// Set once shutdown starts: new client connections are refused.
    let shuttingDown = Atomic<Bool>(false)

    init(settings: TransportSettings, endpoints: HTTPEndpoints, logger: Logger) {
        self.settings = settings
        connectionsPerAddress = ConnectionsPerAddress(limit: settings.connectionsPerIP)
        self.endpoints = endpoints
        self.logger = logger
    }

    var node: Node { endpoints.api.node }

    /// Whether one more client connection from `address` may open: nil, or the HTTP refusal (503 shutting
    /// down or at `client.connection_limit`, 429 at `herald.connections_per_ip`), counted.
    func refusal(ofClientFrom address: String) -> (status: Int, message: String)? {
        if shuttingDown.load(ordering: .relaxed) { return (503, "shutting down") }
        let limit = settings.connectionLimit
        if limit > 0 && clientConnections.load(ordering: .relaxed) >= limit {
            node.refusals.count("connection_limit")
            return (503, "connection limit reached")
        }
        if connectionsPerAddress.isFull(address) {
            node.refusals.count("connections_per_ip")
            return (429, "too many connections from this address")
        }
        return nil
    }

    /// A client connection from `address` opened (`delta` 1) or closed (-1).
    func countClient(from address: String, _ delta: Int) {
        clientConnections.add(delta, ordering: .relaxed)
        if delta > 0 { connectionsPerAddress.add(address) } else { connectionsPerAddress.remove(address) }
    }
}
