// swift-tools-version: 6.1
// Herald's allocation benchmark, a package of its own so that building and testing Herald never builds
// ordo-one/benchmark. Run it from the repository root with `make bench-alloc`.
import PackageDescription

let package = Package(
    name: "HeraldBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, so that `package: "Herald"` below holds whatever directory the repository is cloned into.
        .package(name: "Herald", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The benchmark plugin runs executable targets whose directory sits in a directory named Benchmarks.
        .executableTarget(
            name: "FanOutAllocations",
            dependencies: [
                .product(name: "HeraldCore", package: "Herald"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "FanOutAllocations",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
