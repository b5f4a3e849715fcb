import HeraldCore
import Logging
import Synchronization

/// What every event loop of one server reads: the node, the API, the settings and the connection count.
final class ServerShared: Sendable {
    let settings: TransportSettings
    let endpoints: HTTPEndpoints
    let logger: Logger
    /// Open WebSocket connections, node-wide, for `client.connection_limit`.
    let webSocketConnections = Atomic<Int>(0)
    /// Open WebSocket connections per client address, for `herald.connections_per_ip`.
    let connectionsPerAddress: ConnectionsPerAddress
    /// Set once shutdown starts: new WebSocket upgrades are refused.
    let shuttingDown = Atomic<Bool>(false)

    init(settings: TransportSettings, endpoints: HTTPEndpoints, logger: Logger) {
        self.settings = settings
        connectionsPerAddress = ConnectionsPerAddress(limit: settings.connectionsPerIP)
        self.endpoints = endpoints
        self.logger = logger
    }

    var node: Node { endpoints.api.node }
}
