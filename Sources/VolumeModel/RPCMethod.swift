/// Every method the daemon serves; the raw value is the wire name.
public enum RPCMethod: String, CaseIterable, Sendable {
    case volumeNew = "volume.new"
    case volumeMount = "volume.mount"
    case volumeCommit = "volume.commit"
    case volumeFinalize = "volume.finalize"
    case volumeFork = "volume.fork"
    case volumeUnmount = "volume.unmount"
    case volumeMigrate = "volume.migrate"
    case volumeLoad = "volume.load"
    case volumeLineage = "volume.lineage"
    case volumeLs = "volume.ls"
    case volumeCat = "volume.cat"
    case volumeExportMetadata = "volume.export_metadata"
    case mountList = "mount.list"
    case mountStatus = "mount.status"
    case mountRecover = "mount.recover"
    case daemonStatus = "daemon.status"
}
