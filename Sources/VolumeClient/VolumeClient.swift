import Foundation
import SystemBridge
import SystemPackage
import VolumeModel

/// Talks to `volumed` over its Unix socket: one connection per call, so calls from many
/// tasks run concurrently, and a long call can report progress as it goes.
public struct VolumeClient: Sendable {
    public typealias Progress = @Sendable (VolumeProgress) -> Void

    public let socket: FilePath

    /// `socket`, else `$VOLUMED_SOCKET`, else `/run/volumed/volumed.sock`.
    public init(socket: FilePath? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.socket = socket ?? environment["VOLUMED_SOCKET"].flatMap { $0.isEmpty ? nil : FilePath($0) } ?? FilePath("/run/volumed/volumed.sock")
    }

    // MARK: - Typed methods

    public func new(_ params: RPCParams.New = RPCParams.New()) async throws(VolumeError) -> VolumeDescriptor {
        try await call(.volumeNew, params)
    }

    public func mount(_ params: RPCParams.Mount, progress: Progress? = nil) async throws(VolumeError) -> MountStatus {
        try await call(.volumeMount, reporting: params, to: progress)
    }

    public func commit(_ params: RPCParams.Commit, progress: Progress? = nil) async throws(VolumeError) -> VolumeDescriptor {
        try await call(.volumeCommit, reporting: params, to: progress)
    }

    public func finalize(_ params: RPCParams.Commit, progress: Progress? = nil) async throws(VolumeError) -> VolumeDescriptor {
        try await call(.volumeFinalize, reporting: params, to: progress)
    }

    public func fork(_ params: RPCParams.Fork, progress: Progress? = nil) async throws(VolumeError) -> VolumeDescriptor {
        try await call(.volumeFork, reporting: params, to: progress)
    }

    public func unmount(_ params: RPCParams.MountPath) async throws(VolumeError) -> MountStatus {
        try await call(.volumeUnmount, params)
    }

    public func migrate(_ params: RPCParams.Migrate, progress: Progress? = nil) async throws(VolumeError) -> VolumeDescriptor {
        try await call(.volumeMigrate, reporting: params, to: progress)
    }

    /// The version a locator (`<bucket>/versions/<id>/volume.json`) points at.
    public func load(locator: String) async throws(VolumeError) -> VolumeDescriptor {
        try await call(.volumeLoad, RPCParams.Load(locator: locator))
    }

    public func lineage(of volume: VolumeDescriptor) async throws(VolumeError) -> [VolumeDescriptor] {
        try await call(.volumeLineage, RPCParams.Browse(volume: volume))
    }

    /// The versions of a bucket or of one volume's line, newest first.
    public func versions(_ params: RPCParams.Versions) async throws(VolumeError) -> [VersionEntry] {
        try await call(.volumeVersions, params)
    }

    /// Removes versions from the catalogue; returns their locators.
    public func delete(_ versions: [VolumeDescriptor]) async throws(VolumeError) -> [String] {
        try await call(.volumeDelete, RPCParams.Delete(volumes: versions))
    }

    /// Deletes what nothing in a bucket can reach (`dry_run`: only says what).
    public func collectGarbage(_ params: RPCParams.GC, progress: Progress? = nil) async throws(VolumeError) -> GCReport {
        try await call(.bucketGC, reporting: params, to: progress)
    }

    public func list(_ volume: VolumeDescriptor, path: String = "/") async throws(VolumeError) -> [BrowseEntry] {
        try await call(.volumeLs, RPCParams.Browse(volume: volume, path: path))
    }

    public func read(_ volume: VolumeDescriptor, path: String) async throws(VolumeError) -> Data {
        let content: FileContent = try await call(.volumeCat, RPCParams.Browse(volume: volume, path: path))
        guard let data = Data(base64Encoded: content.contentBase64) else { throw VolumeError(.internalError, "volumed sent malformed file content") }
        return data
    }

    /// Writes a version's namespace to `file` (replacing it) as the stock juicefs client takes
    /// it. This process opens the file and passes the descriptor, so the export lands only
    /// where the caller may write; a failed export removes the file.
    public func exportMetadata(_ params: RPCParams.ExportMetadata, to file: FilePath, progress: Progress? = nil) async throws(VolumeError) -> MetadataExport {
        let output: FileDescriptor
        do {
            output = try FileDescriptor.open(
                file, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw VolumeError(.invalidParams, "cannot write \(file): \(error)", data: ["field": "file"])
        }
        defer { try? output.close() }
        var params = params
        params.progress = progress != nil
        do {
            return try await call(.volumeExportMetadata, params, passing: output, progress: progress)
        } catch {
            try? FileSystem.unlink(file)
            throw error
        }
    }

    public func mounts() async throws(VolumeError) -> [MountStatus] {
        try await call(.mountList, RPCParams.None())
    }

    public func status(of mountPath: String) async throws(VolumeError) -> MountStatus {
        try await call(.mountStatus, RPCParams.MountPath(mountPath: mountPath))
    }

    /// Resumes a mount a stopped daemon left behind, or with `abandon` deletes it.
    public func recover(_ mountPath: String, abandon: Bool = false) async throws(VolumeError) -> MountStatus {
        try await call(.mountRecover, RPCParams.MountPath(mountPath: mountPath, abandon: abandon))
    }

    public func daemonStatus() async throws(VolumeError) -> DaemonStatus {
        try await call(.daemonStatus, RPCParams.None())
    }

    // MARK: - Calls

    /// A long method, asking for progress notifications exactly when `progress` takes them.
    private func call<Params: ProgressRequest, Result: Codable & Sendable>(
        _ method: RPCMethod, reporting params: Params, to progress: Progress?
    ) async throws(VolumeError) -> Result {
        var params = params
        params.progress = progress != nil
        return try await call(method, params, progress: progress)
    }

    /// Any method, off the caller's thread (the socket I/O blocks); `descriptor` travels
    /// with the request for the methods that take one.
    public func call<Params: Encodable & Sendable, Result: Codable & Sendable>(
        _ method: RPCMethod, _ params: Params, passing descriptor: FileDescriptor? = nil, progress: Progress? = nil
    ) async throws(VolumeError) -> Result {
        let outcome: Swift.Result<Result, VolumeError> = await withCheckedContinuation { continuation in
            let worker = Thread {
                continuation.resume(returning: Swift.Result { () throws(VolumeError) -> Result in try callBlocking(method, params, passing: descriptor, progress: progress) })
            }
            worker.name = "volumed-client"
            worker.start()
        }
        return try outcome.get()
    }

    /// Any method, on this thread.
    public func callBlocking<Params: Encodable & Sendable, Result: Codable & Sendable>(
        _ method: RPCMethod, _ params: Params, passing descriptor: FileDescriptor? = nil, progress: Progress? = nil
    ) throws(VolumeError) -> Result {
        let connection: UnixSocket
        do {
            connection = try UnixSocket.connect(to: socket)
        } catch {
            throw VolumeError(
                .internalError, "cannot reach volumed at \(socket) (\(error)); is it running? (systemctl status volumed, or set VOLUMED_SOCKET)",
                data: ["socket": socket.string])
        }
        defer { connection.close() }
        let id = RPCID.number(Int64.random(in: 1..<Int64.max))
        do {
            let request = Array(RPCEnvelope.line(RPCEnvelope.Request(id: id, method: method.rawValue, params: params)))
            if let descriptor { try connection.write(request, passing: descriptor) } else { try connection.write(request) }
        } catch {
            throw VolumeError(.internalError, "volumed closed the connection: \(error)")
        }
        var buffer = LineBuffer()
        while true {
            guard let line = buffer.nextLine() else {
                let bytes: [UInt8]
                do {
                    bytes = try connection.read(maximum: 1 << 20)
                } catch {
                    throw VolumeError(.internalError, "reading from volumed failed: \(error)")
                }
                guard !bytes.isEmpty else { throw VolumeError(.internalError, "volumed closed the connection before answering \(method.rawValue)") }
                buffer.append(bytes)
                continue
            }
            let reply: Reply<Result>
            do {
                reply = try JSONDecoder().decode(Reply<Result>.self, from: line)
            } catch {
                throw VolumeError(.internalError, "volumed sent an answer this client does not understand: \(error)")
            }
            if let failure = reply.error {
                var data = failure.data ?? [:]
                data["name"] = nil
                throw VolumeError(VolumeErrorCode(rawValue: failure.code) ?? .internalError, failure.message, data: data)
            }
            if reply.method == "progress", let update = reply.params, update.id == id {
                progress?(update.progress)
            } else if let result = reply.result {
                return result
            } else if reply.method == nil {
                throw VolumeError(.internalError, "volumed answered \(method.rawValue) without a result")
            }
        }
    }
}

/// Any line the daemon sends, decoded in one pass: a progress notification, an error, or
/// the result.
private struct Reply<Result: Decodable & Sendable>: Decodable, Sendable {
    let method: String?
    let params: RPCEnvelope.ProgressParams?
    let error: RPCEnvelope.ErrorObject?
    let result: Result?
}
