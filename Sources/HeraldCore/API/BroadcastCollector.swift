import Synchronization

/// The server API's `broadcast`: one publication to many channels, answered once every channel's publish
/// is (durable channels answer later, from the log's thread), with one response per channel in order.
final class BroadcastCollector: Sendable {
    private let node: Node
    private let state = Mutex<(results: [Result<StreamPosition?, ProtocolError>?], pending: Int)>(([], 0))

    init(node: Node) {
        self.node = node
    }

    func publish(_ data: [UInt8], to channels: [JSONValue], respond: @escaping ServerAPI.Respond) {
        state.withLock { $0 = (Array(repeating: nil, count: channels.count), channels.count) }
        for (index, channel) in channels.enumerated() {
            do throws(ProtocolError) {
                guard let name = channel.stringValue else { throw .badRequest }
                let ack = try node.publish(channel: name, data: data) { [self] outcome in
                    settle(index, outcome.map { $0 }, respond)
                }
                if case .done(let position) = ack { settle(index, .success(position), respond) }
            } catch {
                settle(index, .failure(error), respond)
            }
        }
    }

    private func settle(_ index: Int, _ outcome: Result<StreamPosition?, ProtocolError>, _ respond: ServerAPI.Respond) {
        let complete: [Result<StreamPosition?, ProtocolError>?]? = state.withLock { state in
            state.results[index] = outcome
            state.pending -= 1
            return state.pending == 0 ? state.results : nil
        }
        guard let complete else { return }
        var out = JSONWriter(capacity: 64 * complete.count)
        out.appendRaw("{\"responses\":[")
        for (index, outcome) in complete.enumerated() {
            if index > 0 { out.appendRaw(",") }
            switch outcome! {
            case .success(let position):
                out.appendRaw("{\"result\":")
                ServerAPI.publishResult(position, into: &out)
                out.appendRaw("}")
            case .failure(let error):
                out.appendRaw("{\"error\":")
                ReplyEncoder.errorObject(error, into: &out)
                out.appendRaw("}")
            }
        }
        out.appendRaw("]}")
        respond(ServerAPI.result(out.bytes))
    }
}
