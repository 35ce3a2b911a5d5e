import ArgumentParser
import Foundation
import VolumeModel

struct WarmupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warmup",
        abstract: "Prefetch files of a mount into the block cache, so that later reads are local.",
        discussion: "Reads every regular file under the given paths (default: the whole mount) through the mount once.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The mount.") var mountPath: String
    @Argument(help: "Files or directories, relative to the mount or absolute under it.") var paths: [String] = []

    func run() async throws {
        let status = try await Failure.reporting { () async throws(VolumeError) in try await daemon.client.status(of: mountPath) }
        let root = URL(fileURLWithPath: status.mountPath)
        var files: [(URL, Int64)] = []
        for path in paths.isEmpty ? ["."] : paths {
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)
            guard url.standardizedFileURL.path.hasPrefix(root.path) else {
                Terminal.error("\(path) is not under the mount \(root.path)")
                throw ExitCode(64)
            }
            files += try Self.regularFiles(at: url)
        }
        let total = files.reduce(0) { $0 + $1.1 }
        let display = ProgressDisplay()
        var done: Int64 = 0
        var failures = 0
        for (file, _) in files {
            do {
                let handle = try FileHandle(forReadingFrom: file)
                defer { try? handle.close() }
                while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
                    done += Int64(chunk.count)
                    display.update(VolumeProgress(phase: "warmup", done: done, total: total, unit: "bytes"))
                }
            } catch {
                failures += 1
                Terminal.error("\(file.path): \(error.localizedDescription)")
            }
        }
        display.finish()
        Terminal.line("warmed up \(files.count - failures) file(s), \(Terminal.byteCount(done)) of \(status.volume)")
        if failures > 0 { throw ExitCode.failure }
    }

    private static func regularFiles(at url: URL) throws -> [(URL, Int64)] {
        let keys: [URLResourceKey] = [.isRegularFileKey, .fileSizeKey]
        guard let values = try? url.resourceValues(forKeys: [.isDirectoryKey, .isRegularFileKey, .fileSizeKey]) else {
            Terminal.error("\(url.path) does not exist")
            throw ExitCode(2)
        }
        if values.isRegularFile == true { return [(url, Int64(values.fileSize ?? 0))] }
        guard values.isDirectory == true, let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: keys) else { return [] }
        return walker.compactMap { item in
            guard let file = item as? URL, let values = try? file.resourceValues(forKeys: Set(keys)), values.isRegularFile == true else { return nil }
            return (file, Int64(values.fileSize ?? 0))
        }
    }
}
