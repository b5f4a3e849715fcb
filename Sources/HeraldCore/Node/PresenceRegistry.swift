import Synchronization

/// Who is subscribed to each presence-enabled channel, node-wide.
final class PresenceRegistry: Sendable {
    private let channels = Mutex<[String: [String: ClientInfo]]>([:])

    func add(_ info: ClientInfo, to channel: String) {
        channels.withLock { $0[channel, default: [:]][info.client] = info }
    }

    func remove(client: String, from channel: String) {
        channels.withLock { map in
            map[channel]?[client] = nil
            if map[channel]?.isEmpty == true { map[channel] = nil }
        }
    }

    func clients(in channel: String) -> [ClientInfo] {
        channels.withLock { map in map[channel].map { Array($0.values) } ?? [] }
            .sorted { $0.client < $1.client }
    }

    func stats(of channel: String) -> PresenceStats {
        channels.withLock { map in
            let clients = map[channel] ?? [:]
            return PresenceStats(numClients: clients.count, numUsers: Set(clients.values.map(\.user)).count)
        }
    }
}
