import Foundation
import Synchronization
import Logging
import SystemBridge
import SystemPackage
import VolumeModel
import Volumes

/// `volumed`: listens on the socket, serves clients concurrently, and on SIGTERM or SIGINT
/// stops accepting, keeps every working copy (blocks drained, nothing published) and exits.
public final class Daemon: @unchecked Sendable {
    public let configuration: DaemonConfiguration
    private let log: Logger
    private let notifier: SystemdNotifier
    private let service: VolumeService
    private let listener: UnixListener
    private let dispatcher: RPCDispatcher
    private var metrics: MetricsEndpoint?
    private let lock = NSLock()
    private var connections: [ObjectIdentifier: RPCConnection] = [:]
    /// Connections served now, by the caller's uid.
    private var connectionsByUser: [UInt32: Int] = [:]
    /// Refused clients still being answered: each costs a thread for up to two seconds, so a
    /// flood past this many is closed without its answer.
    private let lingering = Mutex(0)
    private let stopped = DispatchSemaphore(value: 0)
    private var signalSources: [DispatchSourceSignal] = []

    public init(configuration: DaemonConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) throws(VolumeError) {
        AllocatorPolicy.limitHeaps()
        DescriptorLimit.raiseToHardLimit()
        self.configuration = configuration
        var log = Logger(label: "volumed")
        log.logLevel = configuration.logLevel.loggerLevel
        self.log = log
        notifier = SystemdNotifier(environment: environment)
        var group: UInt32?
        if let name = configuration.socketGroup {
            group = UnixListener.groupID(named: name)
            if group == nil { log.warning("socket group \(name) does not exist; only root and allowed_uids can connect") }
        }
        service = try VolumeService(
            VolumeServiceConfiguration(
                stateDirectory: configuration.stateDir, cacheDirectory: configuration.cacheDir,
                cacheBudget: configuration.cacheSizeMB.map { Int64($0) << 20 },
                indexCacheBudget: Int64(configuration.indexCacheMB) << 20, defaultBucket: configuration.defaultBucket,
                defaultMetadataStore: configuration.metadataStoreType, defaultMaxUploads: configuration.maxUploads,
                environment: environment, allowedBuckets: configuration.allowedBuckets, allowedEndpoints: configuration.allowedEndpoints,
                maxUploadsTotal: configuration.maxUploadsTotal ?? 4 * configuration.maxUploads, maxDownloadsTotal: configuration.maxDownloadsTotal,
                uploadBytesPerSecond: configuration.maxUploadMiBPerSecond.map { Int64($0) << 20 }, allowedRedis: configuration.allowedRedis))
        do {
            try FileSystem.createDirectories(configuration.mountRoot)
            try FileSystem.createDirectories(configuration.socket.removingLastComponent())
            listener = try UnixListener(path: configuration.socket, mode: group == nil ? .ownerReadWrite : [.ownerReadWrite, .groupReadWrite], group: group)
        } catch {
            throw VolumeError(
                error == .addressInUse ? .busy : .internalError,
                error == .addressInUse
                    ? "another volumed already answers on \(configuration.socket)" : "cannot listen on \(configuration.socket): \(error)")
        }
        dispatcher = RPCDispatcher(
            service: service, configuration: configuration, policy: AccessPolicy(configuration: configuration, socketGroup: group), startedAt: Date(),
            log: log)
        if let address = configuration.metricsListen {
            metrics = try MetricsEndpoint(address: address, service: service, connections: { [weak self] in self?.connectionCount ?? 0 }, log: log)
        }
    }

    private var connectionCount: Int { lock.withLock { connections.count } }

    /// Serves until SIGTERM or SIGINT, then shuts down cleanly.
    public func run() {
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in self?.stopped.signal() }
            source.resume()
            signalSources.append(source)
        }
        let stale = service.staleMounts
        for mount in stale { log.warning("left-behind mount of \(mount.volume) at \(mount.mountPath): recover or abandon it (volumectl recover)") }
        service.keepLeftBehindLeases()
        HeapTrimmer().start()
        metrics?.start()
        let accepting = Thread { [self] in acceptLoop() }
        accepting.name = "volumed-accept"
        accepting.start()
        log.info("volumed \(RPCDispatcher.version) listening on \(configuration.socket); state in \(configuration.stateDir)")
        notifier.notify("READY=1\nSTATUS=serving; \(stale.count) left-behind mount(s)\nMAINPID=\(getpid())")
        stopped.wait()
        shutdown()
    }

    private func acceptLoop() {
        while true {
            let socket: UnixSocket
            do {
                socket = try listener.accept()
            } catch {
                return
            }
            guard let peer = try? socket.peerCredentials() else {
                log.warning("refused a connection from an unknown peer")
                refuse(socket, VolumeError(.permissionDenied, "volumed could not tell who you are (SO_PEERCRED failed)"))
                continue
            }
            let caller = AccessPolicy.caller(pid: peer.pid, uid: peer.uid, gid: peer.gid)
            guard dispatcher.policy.admits(caller) else {
                log.warning("refused a connection from uid \(peer.uid) gid \(peer.gid)")
                refuse(
                    socket,
                    VolumeError(.permissionDenied, "uid \(peer.uid) gid \(peer.gid) may not use volumed; ask for allowed_uids/allowed_gids or the socket group"))
                continue
            }
            let connection = RPCConnection(socket: socket, caller: caller, dispatcher: dispatcher)
            let key = ObjectIdentifier(connection)
            if let busy = admit(connection, key: key, uid: caller.uid) {
                log.warning("refused a connection from uid \(caller.uid): \(busy.message)")
                refuse(socket, busy)
                continue
            }
            let thread = Thread { [self] in
                connection.serve()
                lock.withLock {
                    connections.removeValue(forKey: key)
                    connectionsByUser[caller.uid, default: 1] -= 1
                    if connectionsByUser[caller.uid] == 0 { connectionsByUser[caller.uid] = nil }
                }
            }
            thread.name = "volumed-client"
            thread.start()
        }
    }

    /// Counts a connection in, or says why it is one too many (every connection costs a
    /// thread).
    private func admit(_ connection: RPCConnection, key: ObjectIdentifier, uid: UInt32) -> VolumeError? {
        lock.withLock {
            if connections.count >= configuration.maxConnections {
                return VolumeError(
                    .busy, "volumed serves \(configuration.maxConnections) connections already (max_connections); close idle ones or retry later",
                    data: ["limit": "max_connections"])
            }
            if connectionsByUser[uid, default: 0] >= configuration.maxConnectionsPerUser {
                return VolumeError(
                    .busy,
                    "uid \(uid) has \(configuration.maxConnectionsPerUser) connections open already (max_connections_per_user); close idle ones or retry later",
                    data: ["limit": "max_connections_per_user"])
            }
            connections[key] = connection
            connectionsByUser[uid, default: 0] += 1
            return nil
        }
    }

    /// Answers a refused client and lets it read the answer: closing with its request
    /// still unread would reset the connection before it sees why.
    private func refuse(_ socket: UnixSocket, _ error: VolumeError) {
        guard lingering.withLock({ count in
            guard count < 64 else { return false }
            count += 1
            return true
        }) else {
            socket.close()
            return
        }
        let thread = Thread { [self] in
            defer { lingering.withLock { $0 -= 1 } }
            try? socket.write(Array(RPCEnvelope.errorLine(id: nil, error)))
            socket.finishWriting()
            socket.setReceiveTimeout(seconds: 2)
            var discarded = 0
            while discarded < RPCConnection.maximumLine, let bytes = try? socket.read(), !bytes.isEmpty { discarded += bytes.count }
            socket.close()
        }
        thread.name = "volumed-refuse"
        thread.start()
    }

    private func shutdown() {
        notifier.notify("STOPPING=1\nSTATUS=draining \(service.mounts.count) mount(s)")
        log.info("stopping: draining and unmounting \(service.mounts.count) mount(s); nothing is committed")
        listener.close()
        metrics?.stop()
        lock.withLock { connections.values.forEach { $0.interrupt() } }
        for live in service.mounts {
            do {
                try live.suspend()
                log.info("kept the working copy of \(live.source.name) at \(live.mountpoint) for recovery")
            } catch {
                log.error("\(live.mountpoint): \(error)")
            }
        }
        log.info("stopped")
    }
}
