import CoreMetrics
import Foundation
import Logging
import SystemPackage
import VolumeModel
import Volumes

/// Turns one request line into calls on the `VolumeService` and the lines to send back:
/// `progress` notifications while it runs (when asked for), then one response.
struct RPCDispatcher: Sendable {
    static let version = "0.1.0"

    let service: VolumeService
    let configuration: DaemonConfiguration
    let policy: AccessPolicy
    let startedAt: Date
    let log: Logger

    /// Handles a request of `caller`; `send` writes a line to the client (failures are the
    /// client's business: the operation goes on without it). `descriptor` is a file the client
    /// passed with the request, which the caller closes afterwards.
    func handle(_ line: Data, from caller: Caller, descriptor: FileDescriptor? = nil, send: @escaping (Data) -> Void) {
        let header: RPCEnvelope.Header
        do {
            header = try JSONDecoder().decode(RPCEnvelope.Header.self, from: line)
        } catch {
            send(RPCEnvelope.errorLine(id: nil, VolumeError(.parseError, "the request is not a JSON object: send one JSON-RPC 2.0 request per line")))
            return
        }
        guard header.jsonrpc == "2.0", let name = header.method else {
            send(RPCEnvelope.errorLine(id: header.id, VolumeError(.invalidRequest, "a request needs \"jsonrpc\": \"2.0\" and a \"method\"")))
            return
        }
        guard let method = RPCMethod(rawValue: name) else {
            send(
                RPCEnvelope.errorLine(
                    id: header.id,
                    VolumeError(.methodNotFound, "unknown method \(name); the methods are \(RPCMethod.allCases.map(\.rawValue).joined(separator: ", "))")))
            return
        }
        let started = Date()
        // Counted before the answer leaves, so that a client that reads the metrics next sees its call.
        func measure(_ outcome: String) {
            CoreMetrics.Timer(label: "volumed_rpc_duration_seconds", dimensions: [("method", name)]).recordSeconds(Date().timeIntervalSince(started))
            Counter(label: "volumed_rpc_requests_total", dimensions: [("method", name), ("code", outcome)]).increment()
        }
        do {
            let result = try perform(method, line: line, id: header.id, caller: caller, descriptor: descriptor, send: send)
            log.info("\(name) ok in \(String(format: "%.3f", Date().timeIntervalSince(started))) s")
            measure("ok")
            // A notification (no id) gets no response.
            if header.id != nil { send(result) }
        } catch {
            log.warning("\(name) failed: \(error)")
            measure(error.code.name)
            send(RPCEnvelope.errorLine(id: header.id, error))
        }
    }

    private func perform(
        _ method: RPCMethod, line: Data, id: RPCID?, caller: Caller, descriptor: FileDescriptor?, send: @escaping (Data) -> Void
    ) throws(VolumeError) -> Data {
        func params<Value: Decodable & Sendable>(_ type: Value.Type) throws(VolumeError) -> Value {
            guard let value = try RPCEnvelope.params(type, from: line) else {
                throw VolumeError(.invalidParams, "\(method.rawValue) needs params")
            }
            return value
        }
        func progress(_ wanted: Bool?) -> (VolumeProgress) -> Void {
            guard wanted == true, let id else { return { _ in } }
            var last = Date.distantPast
            var phase = ""
            return { update in
                // At most ten updates a second, but every phase change and every phase's end.
                let now = Date()
                guard now.timeIntervalSince(last) >= 0.1 || update.phase != phase || update.done == update.total else { return }
                last = now
                phase = update.phase
                send(RPCEnvelope.progressLine(id: id, update))
            }
        }
        func reply<Value: Codable & Sendable>(_ value: Value) -> Data { RPCEnvelope.resultLine(id: id, value) }

        switch method {
        case .volumeNew:
            let request = (try RPCEnvelope.params(RPCParams.New.self, from: line)) ?? RPCParams.New()
            return reply(
                try service.new(
                    name: request.name, bucket: request.bucket, storage: request.storage, region: request.region, endpoint: request.endpoint,
                    metadataStoreType: request.metadataStoreType))
        case .volumeMount:
            let request = try params(RPCParams.Mount.self)
            let path = try policy.mountPath(request.mountPath)
            if request.options?.cacheDir != nil { try policy.requireAdministrator(caller, to: "choose a mount's cache_dir") }
            let live = try service.mount(
                request.volume, at: path, options: request.options ?? MountOptions(), actor: request.actor ?? ActionRef(), owner: caller.uid,
                progress: progress(request.progress))
            return reply(live.status)
        case .volumeCommit:
            let request = try params(RPCParams.Commit.self)
            let mount = try live(request.mountPath, managedBy: caller, to: "commit")
            return reply(try mount.commit(message: request.message, actor: request.actor, progress: progress(request.progress)))
        case .volumeFinalize:
            let request = try params(RPCParams.Commit.self)
            let path = try policy.mountPath(request.mountPath)
            if service.mount(at: path) == nil, let earlier = service.finalizedVersion(at: path, message: request.message) {
                try policy.requireManager(caller, ofMountAt: path.string, ownedBy: earlier.owner, to: "finalize")
                return reply(earlier.version)
            }
            let mount = try live(request.mountPath, managedBy: caller, to: "finalize")
            return reply(try mount.finalize(message: request.message, actor: request.actor, progress: progress(request.progress)))
        case .volumeFork:
            let request = try params(RPCParams.Fork.self)
            let name = request.name ?? VolumeName.generate()
            switch (request.mountPath, request.volume) {
            case (let path?, nil):
                let mount = try live(path, managedBy: caller, to: "fork")
                return reply(try mount.fork(name: name, as: request.access ?? .rw, actor: request.actor, progress: progress(request.progress)))
            case (nil, let volume?):
                return reply(try service.fork(volume, name: name, as: request.access ?? .rw, actor: request.actor ?? ActionRef()))
            default:
                throw VolumeError(.invalidParams, "volume.fork takes exactly one of mount_path (a live mount) and volume (a committed version)")
            }
        case .volumeUnmount:
            let request = try params(RPCParams.MountPath.self)
            let abandon = request.abandon ?? false
            let keep = request.keep ?? false
            guard !(abandon && keep) else {
                throw VolumeError(.invalidParams, "volume.unmount takes abandon (discard the working copy) or keep (keep it for mount.recover), not both")
            }
            let mount = try live(request.mountPath, managedBy: caller, to: abandon ? "abandon" : "unmount")
            var status = mount.status
            if keep {
                try mount.suspend()
                return reply(service.staleMounts.first { $0.mountPath == status.mountPath } ?? status)
            }
            try mount.unmount(abandon: abandon)
            status.state = .unmounted
            return reply(status)
        case .volumeMigrate:
            let request = try params(RPCParams.Migrate.self)
            return reply(try service.migrate(request.volume, to: request.to, actor: request.actor ?? ActionRef(), progress: progress(request.progress)))
        case .volumeLoad:
            return reply(try service.load(locator: try params(RPCParams.Load.self).locator))
        case .volumeLineage:
            return reply(try service.lineage(of: try params(RPCParams.Browse.self).volume))
        case .volumeVersions:
            let request = try params(RPCParams.Versions.self)
            let (bucket, endpoint, region, name): (String, String?, String?, String?)
            switch (request.bucket, request.volume) {
            case (let uri?, nil): (bucket, endpoint, region, name) = (uri, request.endpoint, request.region, request.name)
            case (nil, let volume?):
                try volume.validate()
                (bucket, endpoint, region, name) = (volume.bucket, volume.endpoint, volume.region, request.name ?? volume.name)
            default:
                throw VolumeError(.invalidParams, "volume.versions takes exactly one of bucket (a bucket URI) and volume (a descriptor of the line)")
            }
            let bases = service.mounts.map { ($0.mountpoint.string, [$0.source.producedBy?.locator, $0.lastVersion.producedBy?.locator]) }
            return reply(
                try service.versions(inBucket: bucket, endpoint: endpoint, region: region, name: name).map { id, volume, heldBy in
                    let locator = volume.producedBy?.locator
                    return VersionEntry(
                        id: id, volume: volume, mountedHere: locator == nil ? [] : bases.filter { $0.1.contains(locator) }.map(\.0), heldBy: heldBy)
                })
        case .volumeDelete:
            let request = try params(RPCParams.Delete.self)
            guard !request.volumes.isEmpty else { throw VolumeError(.invalidParams, "volume.delete needs at least one version in volumes") }
            // The catalogue is shared by every user of the bucket.
            try policy.requireAdministrator(caller, to: "delete versions")
            return reply(try service.delete(request.volumes))
        case .bucketGC:
            let request = try params(RPCParams.GC.self)
            // gc deletes in a bucket every user of it shares, and may retire versions.
            try policy.requireAdministrator(caller, to: "collect a bucket's garbage")
            let grace: Duration
            do {
                grace = try request.grace.map(DurationText.parse) ?? VolumeService.defaultGrace
            } catch {
                throw VolumeError(.invalidParams, "grace: \(error)", data: ["field": "grace"])
            }
            return reply(
                try service.collectGarbage(
                    inBucket: request.bucket, endpoint: request.endpoint, region: request.region, grace: grace, dryRun: request.dryRun ?? false,
                    keepLast: request.keepLast, progress: progress(request.progress)))
        case .volumeLs:
            let request = try params(RPCParams.Browse.self)
            return reply(try service.list(request.volume, path: request.path ?? "/", as: caller))
        case .volumeCat:
            let request = try params(RPCParams.Browse.self)
            guard let path = request.path else { throw VolumeError(.invalidParams, "volume.cat needs a path", data: ["field": "path"]) }
            let data = try service.read(request.volume, path: path, as: caller)
            return reply(FileContent(path: path, size: data.count, contentBase64: data.base64EncodedString()))
        case .volumeExportMetadata:
            let request = try params(RPCParams.ExportMetadata.self)
            // An export holds every name and mode of the version, whatever the caller could list.
            try policy.requireAdministrator(caller, to: "export a version's whole metadata")
            guard let descriptor else {
                throw VolumeError(
                    .invalidParams,
                    "volume.export_metadata writes into a file the caller opened: pass its descriptor with the request (SCM_RIGHTS), as volumectl export-metadata does",
                    data: ["field": "descriptor"])
            }
            return reply(try service.exportMetadata(request.volume, into: descriptor, as: request.format ?? .sqlite, progress: progress(request.progress)))
        case .mountList:
            return reply(mounts())
        case .mountStatus:
            let path = try policy.mountPath(try params(RPCParams.MountPath.self).mountPath)
            guard let status = mounts().first(where: { $0.mountPath == path.string }) else {
                throw VolumeError(.notMounted, "nothing is mounted at \(path)", data: ["mount_path": path.string])
            }
            return reply(status)
        case .mountRecover:
            let request = try params(RPCParams.MountPath.self)
            guard request.keep == nil else { throw VolumeError(.invalidParams, "keep belongs to volume.unmount; mount.recover takes abandon") }
            let path = try policy.mountPath(request.mountPath)
            let abandon = request.abandon ?? false
            guard var status = service.staleMounts.first(where: { $0.mountPath == path.string }) else {
                throw VolumeError(.notFound, "no left-behind mount at \(path); volumectl status lists them", data: ["mount_path": path.string])
            }
            try policy.requireManager(caller, ofMountAt: path.string, ownedBy: status.ownerUID, to: abandon ? "abandon" : "recover")
            guard let recovered = try service.recover(mountPath: path, abandon: abandon, mountID: status.mountID) else {
                status.state = .unmounted
                return reply(status)
            }
            return reply(recovered.status)
        case .daemonStatus:
            return reply(
                DaemonStatus(
                    version: Self.version, pid: ProcessInfo.processInfo.processIdentifier, uptimeSeconds: Date().timeIntervalSince(startedAt),
                    socket: configuration.socket.string, stateDir: configuration.stateDir.string, defaultBucket: service.configuration.effectiveDefaultBucket,
                    metadataStoreType: configuration.metadataStoreType, mounts: mounts(), storageRetries: service.storageEvents.retries,
                    resolvedOutcomes: service.storageEvents.resolvedOutcomes, transfers: service.transfers))
        }
    }

    private func mounts() -> [MountStatus] {
        (service.mounts.map(\.status) + service.staleMounts).sorted { $0.mountPath < $1.mountPath }
    }

    /// The mount at `text`, if `caller` may `verb` it.
    private func live(_ text: String, managedBy caller: Caller, to verb: String) throws(VolumeError) -> LiveVolume {
        let path = try policy.mountPath(text)
        guard let live = service.mount(at: path) else {
            if service.staleMounts.contains(where: { $0.mountPath == path.string }) {
                throw VolumeError(
                    .notMounted, "\(path) was left behind by a daemon that stopped; recover it (volumectl recover) or abandon it first",
                    data: ["mount_path": path.string])
            }
            throw VolumeError(.notMounted, "nothing is mounted at \(path)", data: ["mount_path": path.string])
        }
        try policy.requireManager(caller, ofMountAt: path.string, ownedBy: live.owner, to: verb)
        return live
    }
}
