/// Several publications of one channel that a loop delivers in one round, as data streams get them: the raw
/// WebSocket frames joined into one, and the events of single-channel SSE streams joined into one, each
/// built at most once per loop and round, only if some stream wants it. Confined to the loop.
final class DataStreamRun {
    let sources: [PublicationSource]

    init(_ sources: [PublicationSource]) {
        self.sources = sources
    }

    private(set) lazy var webSocketFrames = Frame(joining: sources.map(\.webSocketFrame))
    private(set) lazy var eventsWithIDs = Frame(joining: sources.map { $0.event(withID: true) })
}
