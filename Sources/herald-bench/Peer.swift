import Glibc

/// A server under test: how to start it pinned to a CPU, and how the load generator subscribes and publishes
/// in its own terms. Herald speaks the Centrifuge protocol; Nchan and uWebSockets take the channel from the
/// URL and send the raw payload.
struct Peer {
    let name: String
    /// The command that runs the server in the foreground on `port`, pinned to `cpu`.
    let command: (_ port: Int, _ cpu: Int, _ workdir: String) -> [String]
    let wsPath: String
    let subscribeMessage: String?
    let readyMarker: String?
    let publishPath: String
    let publishPrefix: String
    let publishSuffix: String
    let extraHeaders: String?
    let pongReply: String?

    /// Herald on `backend` ("libev", its default, or "poll": libwebsockets' own loop, for comparison).
    static func herald(binary: String, backend: String = "libev") -> Peer {
        Peer(
            name: backend == "libev" ? "herald" : "herald-\(backend)",
            command: { port, cpu, workdir in
                let config = "\(workdir)/herald-bench-\(backend).json"
                writeFile(config, """
                    {"http_api":{"insecure":true},"client":{"allow_anonymous_connect_without_token":true},
                     "channel":{"without_namespace":{"allow_subscribe_for_client":true,
                                                     "allow_subscribe_for_anonymous":true}},
                     "log":{"level":"warn"},"herald":{"event_loops":1,"event_backend":"\(backend)"}}
                    """)
                return ["taskset", "-c", "\(cpu)", binary, "serve", "--config", config, "--port", "\(port)", "--address", "127.0.0.1"]
            },
            wsPath: "/connection/websocket",
            subscribeMessage: #"{"id":1,"connect":{}}"# + "\n" + #"{"id":2,"subscribe":{"channel":"{CH}"}}"#,
            readyMarker: #""id":2"#,
            publishPath: "/api/publish",
            publishPrefix: #"{"channel":"{CH}","data":"#,
            publishSuffix: "}",
            extraHeaders: nil,
            pongReply: "{}")
    }

    /// Herald's raw WebSocket per channel (`/ws/CHANNEL`): the peers' wire shape (the channel in the URL, ready
    /// at the 101, each frame the payload as published), published through Herald's API.
    static func heraldRaw(binary: String) -> Peer {
        let herald = herald(binary: binary)
        return Peer(
            name: "herald-raw", command: herald.command, wsPath: "/ws/{CH}", subscribeMessage: nil, readyMarker: nil,
            publishPath: herald.publishPath, publishPrefix: herald.publishPrefix, publishSuffix: herald.publishSuffix,
            extraHeaders: nil, pongReply: nil)
    }

    static func uWebSockets(peersDirectory: String) -> Peer {
        Peer(
            name: "uws",
            command: { port, cpu, _ in ["\(peersDirectory)/uws.sh", "\(port)", "\(cpu)"] },
            wsPath: "/{CH}", subscribeMessage: nil, readyMarker: nil,
            publishPath: "/publish/{CH}", publishPrefix: "", publishSuffix: "", extraHeaders: nil, pongReply: nil)
    }

    static func nchan(peersDirectory: String) -> Peer {
        Peer(
            name: "nchan",
            command: { port, cpu, workdir in ["\(peersDirectory)/nchan.sh", "\(port)", "\(cpu)", workdir] },
            wsPath: "/sub/{CH}", subscribeMessage: nil, readyMarker: nil,
            publishPath: "/pub/{CH}", publishPrefix: "", publishSuffix: "", extraHeaders: nil, pongReply: nil)
    }
}

func writeFile(_ path: String, _ text: String) {
    guard let file = fopen(path, "w") else { fatalError("cannot write \(path)") }
    fputs(text, file)
    fclose(file)
}
