import FuzzSupport
import HeraldCore
import Synchronization

/// One input is what a client sends on one connection: its first byte sets the size of the reads the rest
/// arrives in (1 to 256 bytes), so heads and bodies split at every place. The acceptor classifies the first
/// read; the parser splits the stream into requests, which the endpoints answer from a fresh node, as
/// `HTTPConnection` does. Every answer must come once, at once, with a JSON body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    guard let first = input.first else { return 0 }
    let readSize = Int(first) + 1
    let stream = UnsafeRawBufferPointer(rebasing: input.dropFirst())
    _ = FirstRequest.classify(UnsafeRawBufferPointer(rebasing: stream.prefix(readSize)), isFull: stream.count <= readSize)
    let endpoints = HTTPEndpoints(api: ServerAPI(node: makeFuzzNode()),
                                  authorization: APIAuthorization(key: "", insecure: true))
    var parser = HTTPRequestParser(bodyLimit: 1024)
    var offset = 0
    while offset < stream.count {
        let end = min(offset + readSize, stream.count)
        parser.append(UnsafeRawBufferPointer(rebasing: stream[offset..<end]))
        offset = end
        do {
            while let request = try parser.nextRequest() {
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
