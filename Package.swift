// swift-tools-version:6.1
import PackageDescription

/// Layering follows docs/ARCHITECTURE.md: thin C bridges at the bottom, one Swift target per
/// layer above them, executables that only hold `main`.
let package = Package(
    name: "volumed",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "volumectl", targets: ["volumectl"]),
        .executable(name: "volumed", targets: ["volumed"]),
        .library(name: "VolumeClient", targets: ["VolumeClient"]),
        .library(name: "ObjectStorage", targets: ["ObjectStorage"]),
        .library(name: "VolumeModel", targets: ["VolumeModel"]),
        .library(name: "Metadata", targets: ["Metadata"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries, each behind a module map and a shim header.
        .systemLibrary(name: "CFuse", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CChecksum"),
        .systemLibrary(name: "CLinux"),
        .systemLibrary(name: "CSocket"),
        .systemLibrary(name: "CTLS", pkgConfig: "libssl", providers: [.apt(["libssl-dev"])]),

        // Thin Swift bridges: the only places that touch unsafe pointers and C calls.
        .target(name: "SystemBridge", dependencies: ["CLinux", "CSocket", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "Cryptography", dependencies: ["CCrypto", "CChecksum", "SystemBridge", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "HTTP", dependencies: ["CCurl"]),
        .target(name: "SQLite", dependencies: ["CSQLite"]),
        .target(name: "Redis", dependencies: ["CHiredis", "CTLS"]),

        // Layers.
        .target(name: "StorageFormat"),
        .target(name: "VolumeModel", dependencies: ["StorageFormat"]),
        .target(
            name: "ObjectStorage",
            dependencies: [
                "StorageFormat", "HTTP", "Cryptography", "SystemBridge",
                .product(name: "SystemPackage", package: "swift-system"), .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .target(
            name: "ChunkStore",
            dependencies: ["ObjectStorage", "StorageFormat", "Cryptography", "SystemBridge", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "FuseBridge",
            dependencies: [
                "CFuse", "VFS", "Metadata", "StorageFormat", "SystemBridge", .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]),
        .target(name: "VFS", dependencies: ["Metadata", "ChunkStore", "StorageFormat", .product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "Volumes",
            dependencies: [
                "VolumeModel", "StorageFormat", "ObjectStorage", "Metadata", "ChunkStore", "VFS", "FuseBridge", "Cryptography", "SystemBridge",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "VolumeDaemon",
            dependencies: [
                "Volumes", "VolumeModel", "StorageFormat", "ObjectStorage", "SystemBridge", .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(name: "VolumeClient", dependencies: ["VolumeModel", "SystemBridge", .product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "Metadata",
            dependencies: ["SQLite", "Redis", "SystemBridge", "StorageFormat", .product(name: "SystemPackage", package: "swift-system")]
        ),

        // Benchmarks (figures printed by bench/, never asserted).
        .executableTarget(
            name: "chunkbench", dependencies: ["ChunkStore", "Metadata", "VFS", "ObjectStorage", "VolumeModel", .product(name: "SystemPackage", package: "swift-system")],
            path: "bench/chunkbench"),
        .executableTarget(
            name: "fsbench", dependencies: ["FuseBridge", "VFS", "ChunkStore", "Metadata", "ObjectStorage", .product(name: "SystemPackage", package: "swift-system")],
            path: "bench/fsbench"),
        .executableTarget(
            name: "volumebench",
            dependencies: ["Volumes", "VFS", "Metadata", "VolumeModel", "StorageFormat", "SystemBridge", .product(name: "SystemPackage", package: "swift-system")],
            path: "bench/volumebench"),
        .executableTarget(name: "metabench", dependencies: ["Metadata", "StorageFormat", .product(name: "SystemPackage", package: "swift-system")], path: "bench/metabench"),

        // Executables.
        .executableTarget(
            name: "volumed",
            dependencies: [
                "VolumeDaemon", "VolumeModel", .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "volumectl",
            dependencies: [
                "ObjectStorage", "StorageFormat", "VolumeModel", "VolumeClient", "SystemBridge", .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .target(name: "TestSupport", dependencies: ["Redis", "ObjectStorage", "HTTP", "StorageFormat", "VolumeClient", "VolumeModel", .product(name: "SystemPackage", package: "swift-system")], path: "Tests/TestSupport"),
        .testTarget(name: "CBindingTests", dependencies: ["CFuse", "CSQLite", "CHiredis", "CCurl", "CCrypto"]),
        .testTarget(name: "CryptographyTests", dependencies: ["Cryptography", "TestSupport"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"]),
        .testTarget(name: "SystemBridgeTests", dependencies: ["SystemBridge", "TestSupport", .product(name: "SystemPackage", package: "swift-system")]),
        .testTarget(name: "StorageFormatTests", dependencies: ["StorageFormat"]),
        .testTarget(name: "VolumeModelTests", dependencies: ["VolumeModel", "StorageFormat"]),
        .testTarget(
            name: "ObjectStorageTests",
            dependencies: ["ObjectStorage", "StorageFormat", "Cryptography", "HTTP", "TestSupport", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(name: "SQLiteTests", dependencies: ["SQLite", "TestSupport"]),
        .testTarget(name: "RedisTests", dependencies: ["Redis", "TestSupport"]),
        .testTarget(
            name: "MetadataTests",
            dependencies: ["Metadata", "SQLite", "Redis", "ObjectStorage", "StorageFormat", "TestSupport", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(
            name: "ChunkStoreTests",
            dependencies: [
                "ChunkStore", "ObjectStorage", "StorageFormat", "SystemBridge", "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .testTarget(
            name: "VFSTests",
            dependencies: ["VFS", "ChunkStore", "Metadata", "ObjectStorage", "StorageFormat", "TestSupport", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(
            name: "FuseBridgeTests",
            dependencies: ["FuseBridge", "VFS", "ChunkStore", "Metadata", "ObjectStorage", "TestSupport", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(
            name: "VolumesTests",
            dependencies: [
                "Volumes", "VolumeModel", "StorageFormat", "Metadata", "ObjectStorage", "Cryptography", "SystemBridge", "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .testTarget(name: "volumectlTests", dependencies: ["volumectl", "TestSupport"]),
        .testTarget(name: "VolumeClientTests", dependencies: ["VolumeClient", "VolumeModel", "volumed", "TestSupport", .product(name: "SystemPackage", package: "swift-system")]),
        .testTarget(
            name: "VolumeDaemonTests",
            dependencies: ["volumed", "volumectl", "VolumeDaemon", "VolumeClient", "VolumeModel", "SystemBridge", "TestSupport", .product(name: "SystemPackage", package: "swift-system")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
