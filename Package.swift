// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Herald",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "herald", targets: ["herald"]),
        .executable(name: "herald-bench", targets: ["herald-bench"]),
        .library(name: "HeraldCore", targets: ["HeraldCore"]),  // for Benchmarks/, a package of its own
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // libwebsockets 4.1 through pkg-config; the shim exposes the macros Swift cannot import.
        .systemLibrary(
            name: "CLibWebSockets",
            pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev"])]
        ),
        // librdkafka through pkg-config; the shim wraps the variadic producer call.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // epoll and eventfd for the acceptor, which Swift's Glibc module does not import.
        .systemLibrary(name: "CEpoll"),
        // Channels, protocol codec, sessions, fan-out, limits, configuration: plain Swift, no C.
        .target(
            name: "HeraldCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The embedded durable log: SQLite (WAL) through GRDB, behind HeraldCore's `PublicationLog`.
        .target(
            name: "HeraldStore",
            dependencies: ["HeraldCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // JWT verification and signing: every use of swift-crypto, behind HeraldCore's `TokenVerifier`.
        .target(
            name: "HeraldAuth",
            dependencies: [
                "HeraldCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // Every librdkafka call lives here: the tail consumer, the producer and the catch-up readers, with
        // their threads; HeraldCore's bridge sees only `KafkaRecord`s and the `KafkaLink` protocol.
        .target(
            name: "HeraldKafka",
            dependencies: ["CRdKafka", "HeraldCore", .product(name: "Logging", package: "swift-log")]
        ),
        // Every libwebsockets call lives here: event loops, accept, HTTP and WebSocket I/O.
        .target(
            name: "HeraldTransport",
            dependencies: [
                "CLibWebSockets",
                "CEpoll",
                "HeraldCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .executableTarget(
            name: "herald",
            dependencies: [
                "HeraldAuth",
                "HeraldCore",
                "HeraldKafka",
                "HeraldStore",
                "HeraldTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The admin console's files, compiled into the binary as byte arrays (`PackageResources`): no
            // files to install beside it, no Foundation bundle.
            resources: [
                .embedInCode("Admin/index.html"),
                .embedInCode("Admin/admin.css"),
                .embedInCode("Admin/admin.js"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // The benchmark's hot receive loop, in C so the load generator is not what gets measured.
        .target(name: "CBenchLoad"),
        // `herald-bench`: runs Herald and its peers side by side and reports ratios and percentiles.
        .executableTarget(
            name: "herald-bench",
            dependencies: [
                "CBenchLoad",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(
            name: "HeraldCoreTests",
            dependencies: ["HeraldCore"]
        ),
        .testTarget(
            name: "HeraldAuthTests",
            dependencies: ["HeraldAuth", "HeraldCore", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "CryptoExtras", package: "swift-crypto")]
        ),
        .testTarget(
            name: "HeraldStoreTests",
            dependencies: ["HeraldCore", "HeraldStore"]
        ),
    ]
)
