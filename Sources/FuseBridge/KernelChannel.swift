import CFuse
import Glibc
import Synchronization

/// The `/dev/fuse` descriptor as libfuse's custom I/O hooks see it: every request is read and
/// every reply written here, for the part of the protocol libfuse 3.14 does not negotiate or
/// pass on, FUSE_HANDLE_KILLPRIV_V2.
///
/// Without it the kernel asks for `security.capability` before every write to learn whether
/// the write must drop privileges (a round trip per `write(2)`). With it the kernel remembers
/// per inode that there is nothing to drop, and marks the writes, truncations and changes of
/// owner after which the file system must clear set-ID bits itself; a worker thread reads the
/// mark of the request it serves from `currentRequestClearsSetID`.
final class KernelChannel: Sendable {
    /// The unique of the kernel's INIT while its reply is due and the kernel offered the flag.
    private let initOffering = Atomic<UInt64>(0)
    private let negotiated = Atomic<Bool>(false)

    /// Whether the kernel accepted FUSE_HANDLE_KILLPRIV_V2 for this mount.
    var clearsSetIDItself: Bool { negotiated.load(ordering: .acquiring) }

    /// Makes `session`, whose userdata is a `FuseMount`, read and write its descriptor
    /// through that mount's channel.
    static func install(on session: OpaquePointer) -> Bool {
        fuse_session_custom_io(session, hooks, fuse_session_fd(session)) == 0
    }

    /// Whether the request the calling worker thread is serving marks the caller as one whose
    /// write, truncation or change of owner clears the file's set-ID bits.
    static var currentRequestClearsSetID: Bool { pthread_getspecific(requestMarkKey) != nil }

    private static let requestMarkKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "no thread-specific key left for FUSE workers")
        return key
    }()

    /// Written once, before any session uses it; libfuse only reads it.
    nonisolated(unsafe) private static let hooks: UnsafeMutablePointer<fuse_custom_io> = {
        let hooks = UnsafeMutablePointer<fuse_custom_io>.allocate(capacity: 1)
        hooks.initialize(to: fuse_custom_io())
        hooks.pointee.read = { descriptor, buffer, length, userdata in
            let count = Glibc.read(descriptor, buffer, length)
            if count >= MemoryLayout<fuse_in_header>.size, let buffer, let userdata {
                FuseMount.from(userdata: userdata).channel.received(UnsafeRawBufferPointer(start: buffer, count: count))
            }
            return count
        }
        hooks.pointee.writev = { descriptor, vectors, count, userdata in
            if let vectors, let userdata { FuseMount.from(userdata: userdata).channel.replying(UnsafeMutableBufferPointer(start: vectors, count: Int(count))) }
            return Glibc.writev(descriptor, vectors, count)
        }
        return hooks
    }()

    /// Notes what libfuse will not pass on: the INIT offer, and the mark of a request.
    private func received(_ request: UnsafeRawBufferPointer) {
        let header = request.loadUnaligned(as: fuse_in_header.self)
        let body = MemoryLayout<fuse_in_header>.size
        func field(_ offset: Int?) -> UInt32 {
            guard let offset, body + offset + 4 <= request.count else { return 0 }
            return request.loadUnaligned(fromByteOffset: body + offset, as: UInt32.self)
        }
        var marked = false
        switch header.opcode {
        case FUSE_INIT.rawValue:
            if field(MemoryLayout<fuse_init_in>.offset(of: \.flags)) & UInt32(FUSE_HANDLE_KILLPRIV_V2) != 0 {
                initOffering.store(header.unique, ordering: .releasing)
            }
        case FUSE_WRITE.rawValue:
            marked = field(MemoryLayout<fuse_write_in>.offset(of: \.write_flags)) & UInt32(FUSE_WRITE_KILL_SUIDGID) != 0
        case FUSE_SETATTR.rawValue:
            marked = field(MemoryLayout<fuse_setattr_in>.offset(of: \.valid)) & UInt32(FATTR_KILL_SUIDGID) != 0
        case FUSE_OPEN.rawValue:
            marked = field(MemoryLayout<fuse_open_in>.offset(of: \.open_flags)) & UInt32(FUSE_OPEN_KILL_SUIDGID) != 0
        default:
            break
        }
        pthread_setspecific(Self.requestMarkKey, marked ? UnsafeRawPointer(bitPattern: 1) : nil)
    }

    /// Accepts FUSE_HANDLE_KILLPRIV_V2 in libfuse's successful INIT reply, when offered.
    private func replying(_ vectors: UnsafeMutableBufferPointer<iovec>) {
        let offered = initOffering.load(ordering: .acquiring)
        guard offered != 0, vectors.count >= 2, vectors[0].iov_len >= MemoryLayout<fuse_out_header>.size,
            vectors[1].iov_len >= MemoryLayout<fuse_init_out>.offset(of: \.flags)! + 4,
            let headerBytes = vectors[0].iov_base, let reply = vectors[1].iov_base
        else { return }
        let header = UnsafeRawPointer(headerBytes).loadUnaligned(as: fuse_out_header.self)
        guard header.unique == offered else { return }
        initOffering.store(0, ordering: .relaxed)
        guard header.error == 0 else { return }
        let flags = reply.advanced(by: MemoryLayout<fuse_init_out>.offset(of: \.flags)!)
        flags.storeBytes(of: flags.loadUnaligned(as: UInt32.self) | UInt32(FUSE_HANDLE_KILLPRIV_V2), as: UInt32.self)
        negotiated.store(true, ordering: .releasing)
    }
}
