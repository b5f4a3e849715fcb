import FuzzSupport
import HeraldCore
import Synchronization

/// One input is what a client sends on one connection: its first byte sets the size of the reads the rest
/// arrives in (1 to 256 bytes), so heads and bodies split at every place. The acceptor classifies the first
/// read; the parser splits the stream into requests, which the endpoints answer from a fresh node, as
/// `HTTPConnection` does. Every answer must come once, at once, with a JSON body. A data stream request
/// (`/connection/sse`, `/ws/…`) is checked and, when admitted, opened on the node's loop, caught up and
/// closed, as the transport does; a refusal must be one of the statuses the README lists.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard let first = input.first else { return 0 }
    let readSize = Int(first) + 1
    let stream = UnsafeRawBufferPointer(rebasing: input.dropFirst())
    _ = FirstRequest.classify(UnsafeRawBufferPointer(rebasing: stream.prefix(readSize)), isFull: stream.count <= readSize)
    let node = makeFuzzNode()
    let loop = node.makeLoopContexts()[0]
    let endpoints = HTTPEndpoints(api: ServerAPI(node: node), authorization: APIAuthorization(key: "", insecure: true))
    var parser = HTTPRequestParser(bodyLimit: 1024)
    var offset = 0
    while offset < stream.count {
        let end = min(offset + readSize, stream.count)
        parser.append(UnsafeRawBufferPointer(rebasing: stream[offset..<end]))
        offset = end
        do {
            while let request = try parser.nextRequest() {
                if DataStreamRequest.format(ofPath: request.path) != nil {
                    openAndClose(request, node: node, loop: loop)
                    continue
                }
                let answers = Mutex(0)
                endpoints.respond(to: request, peerIsLoopback: true) { response in
                    answers.withLock { $0 += 1 }
                    requireJSON(response.body, "the answer to \(request.method) \(request.path)")
                }
                precondition(answers.withLock { $0 } == 1, "\(request.path) was not answered exactly once")
            }
        } catch {
            // A refused request ends the connection, as in `HTTPConnection`.
            precondition([400, 411, 413, 431, 505].contains(error.status), "refused with status \(error.status)")
            return 0
        }
    }
    return 0
}

private func openAndClose(_ request: HTTPRequest, node: Node, loop: LoopContext) {
    do throws(HTTPError) {
        let streamRequest = try DataStreamRequest(
            path: request.path, query: request.query, lastEventID: request.header("last-event-id"),
            authorization: request.header("authorization"), node: node)
        let output = DiscardingOutput()
        let subscriber = try loop.openDataStream(streamRequest, output: output, origin: request.header("origin"), now: 0)
        loop.drainInbox()
        subscriber.closed()
    } catch {
        precondition([400, 401, 403, 404].contains(error.status), "data stream refused with status \(error.status)")
        requireJSON(HTTPResponse.error(error.status, error.message).body, "the refusal of \(request.path)")
    }
}

/// A data stream's connection that takes whatever it is sent.
private final class DiscardingOutput: SessionOutput {
    func send(_ frame: Frame) {}
    func close(_ disconnect: Disconnect) {}
}
