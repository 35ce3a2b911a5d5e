import Foundation
import Testing
import TestSupport
import VolumeModel

/// The CLI contract scripts depend on: descriptors alone on stdout, messages on stderr,
/// the documented exit statuses.
@Suite(.serialized) struct VolumectlLifecycleTests {
    @Test func lifecycleOnTheEmbeddedDefault() throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let scratch = try Scratch.directory("cli")
        func descriptor(_ result: Command.Result, _ what: String) throws -> VolumeDescriptor {
            #expect(result.status == 0, "\(what): \(result.stderr)")
            return try JSONDecoder().decode(VolumeDescriptor.self, from: Data(result.stdout.utf8))
        }
        func save(_ result: Command.Result, as name: String) throws -> String {
            let file = scratch.appending(name).string
            try Data(result.stdout.utf8).write(to: URL(fileURLWithPath: file))
            return file
        }

        let created = try daemon.volumectl(["new", "--name", "cli-volume"])
        let volume = try descriptor(created, "new")
        #expect(volume.name == "cli-volume" && volume.bucket.hasPrefix("file://") && volume.access == .rw)
        let volumeFile = try save(created, as: "v0.json")

        let path = daemon.mountPath("cli")
        let mount = try daemon.volumectl(["mount", volumeFile, path, "--upload-delay", "1s", "--max-uploads", "4", "--attr-cache", "1s"])
        #expect(mount.status == 0, "\(mount.stderr)")
        #expect(mount.stdout.isEmpty && mount.stderr.contains("mounted cli-volume at \(path)"))
        try write("one", to: "\(path)/dir/file.txt")

        let status = try daemon.volumectl(["status"])
        #expect(status.status == 0 && status.stdout.contains("VOLUME") && status.stdout.contains("cli-volume") && status.stdout.contains(path))
        #expect(status.stdout.contains("uid 0") && status.stdout.contains("uploads 0 of 200 running"), "owner and transfer bounds: \(status.stdout)")
        let statusJSON = try daemon.volumectl(["status", path, "--json"])
        let mountStatus = try JSONDecoder().decode(MountStatus.self, from: Data(statusJSON.stdout.utf8))
        #expect(mountStatus.mountPath == path && mountStatus.mode == .rw && mountStatus.state == .mounted)

        let refused = try daemon.volumectl(["unmount", path])
        #expect(refused.status == 3 && refused.stderr.contains("uncommitted_changes"), "\(refused.stderr)")

        let committed = try daemon.volumectl(["commit", path, "-m", "first"])
        let first = try descriptor(committed, "commit")
        #expect(first.message == "first" && first.isCommitted)
        let firstFile = try save(committed, as: "v1.json")
        #expect(!committed.stdout.contains("drain"), "progress stays off stdout")

        let listing = try daemon.volumectl(["ls", firstFile, "/dir"])
        #expect(listing.status == 0 && listing.stdout.contains("file.txt") && listing.stdout.hasPrefix("-rw"), "\(listing.output)")
        let cat = try daemon.volumectl(["cat", firstFile, "/dir/file.txt"])
        #expect(cat.status == 0 && cat.stdout == "one")
        let locator = try #require(first.producedBy?.locator)
        let byLocator = try daemon.volumectl(["cat", locator, "/dir/file.txt"])
        #expect(byLocator.stdout == "one", "a locator URI names a version: \(byLocator.stderr)")
        let fromStdin = try daemon.volumectl(["ls", "-", "/"], input: Data(committed.stdout.utf8))
        #expect(fromStdin.stdout.contains(" dir"), "- reads the descriptor from stdin: \(fromStdin.output)")

        let sibling = try descriptor(try daemon.volumectl(["fork", path, "--name", "cli-sibling", "--as", "ro"]), "fork --as ro")
        #expect(sibling.access == .ro && sibling.name == "cli-sibling")
        let cold = try descriptor(try daemon.volumectl(["fork", firstFile, "--name", "cli-cold"]), "cold fork")
        #expect(cold.access == .rw && cold.chunkPrefix == volume.chunkPrefix)

        try write("two", to: "\(path)/dir/file.txt")
        let finalized = try daemon.volumectl(["finalize", path, "-m", "second"])
        let second = try descriptor(finalized, "finalize")
        let secondFile = try save(finalized, as: "v2.json")
        #expect(try daemon.volumectl(["status", path]).status == 2, "finalize unmounts")
        let log = try daemon.volumectl(["log", secondFile])
        #expect(log.status == 0 && log.stdout.contains("second") && log.stdout.contains("first"))
        let lineage = try JSONDecoder().decode([VolumeDescriptor].self, from: Data(try daemon.volumectl(["log", secondFile, "--json"]).stdout.utf8))
        #expect(lineage.map(\.message) == ["second", "first"])
        let versions = try daemon.volumectl(["versions", secondFile])
        #expect(versions.status == 0 && versions.stdout.contains("\"second\"") && versions.stdout.contains("\"first\""), "\(versions.output)")
        let entries = try JSONDecoder().decode([VersionEntry].self, from: Data(try daemon.volumectl(["versions", second.bucket, "--json"]).stdout.utf8))
        #expect(entries.first?.volume.producedBy?.locator == second.producedBy?.locator, "newest first")
        #expect(Set(entries.map(\.volume.name)).isSuperset(of: [volume.name, "cli-sibling"]))
        #expect(try daemon.volumectl(["versions", second.bucket, "--name", "cli-sibling", "--json"]).stdout.contains("cli-sibling"))
        let deleted = try daemon.volumectl(["delete", try #require(sibling.producedBy?.locator)])
        #expect(deleted.status == 0 && deleted.stderr.contains("deleted"), "\(deleted.output)")
        #expect(try daemon.volumectl(["versions", second.bucket, "--name", "cli-sibling"]).stderr.contains("no versions"))

        let migrated = try descriptor(try daemon.volumectl(["migrate", secondFile, "--to", "redis"]), "migrate")
        #expect(migrated.metadataStoreType == .redis && migrated.parentProducedBy?.locator == second.producedBy?.locator)
        let unchanged = try daemon.volumectl(["migrate", secondFile, "--to", "sqlite"])
        #expect(unchanged.status == 3 && unchanged.stdout.isEmpty, "\(unchanged.stderr)")

        let readOnlyPath = daemon.mountPath("ro")
        #expect(try daemon.volumectl(["mount", secondFile, readOnlyPath]).status == 3, "a version mounts read-only only")
        #expect(try daemon.volumectl(["mount", secondFile, readOnlyPath, "--read-only"]).status == 0)
        let warmup = try daemon.volumectl(["warmup", readOnlyPath])
        #expect(warmup.status == 0 && warmup.stderr.contains("warmed up 1 file(s)"), "\(warmup.output)")
        #expect(try String(contentsOfFile: "\(readOnlyPath)/dir/file.txt", encoding: .utf8) == "two")
        #expect(try daemon.volumectl(["unmount", readOnlyPath]).status == 0)

        let scrap = daemon.mountPath("scrap")
        #expect(try daemon.volumectl(["mount", try save(try daemon.volumectl(["new"]), as: "scrap.json"), scrap]).status == 0)
        try write("never kept", to: "\(scrap)/x")
        let abandoned = try daemon.volumectl(["unmount", scrap, "--abandon"])
        #expect(abandoned.status == 0 && abandoned.stderr.contains("discarded"))
        #expect(try daemon.stop() == 0)
    }

    @Test func badInputGetsStableExitCodes() throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let badName = try daemon.volumectl(["new", "--name", "Bad_Name"])
        #expect(badName.status == 64 && badName.stderr.contains("invalid_params") && badName.stdout.isEmpty, "\(badName.stderr)")
        let notMounted = try daemon.volumectl(["commit", daemon.mountPath()])
        #expect(notMounted.status == 2 && notMounted.stderr.contains("not_mounted"))
        let outside = try daemon.volumectl(["commit", "/etc"])
        #expect(outside.status == 77 && outside.stderr.contains("outside the mount root"))
        let missingFile = try daemon.volumectl(["mount", "/nonexistent/volume.json", daemon.mountPath()])
        #expect(missingFile.status == 64 && missingFile.stderr.contains("cannot read the descriptor file"))
        let notADescriptor = try daemon.volumectl(["ls", "-"], input: Data("{\"kind\": 3}".utf8))
        #expect(notADescriptor.status == 64 && notADescriptor.stderr.contains("does not hold a volume descriptor"))
        let badDuration = try daemon.volumectl(["mount", "-", daemon.mountPath(), "--upload-delay", "soon"], input: Data(try daemon.volumectl(["new"]).stdout.utf8))
        #expect(badDuration.status == 64 && badDuration.stderr.contains("invalid duration"), "\(badDuration.stderr)")
        let usage = try daemon.volumectl(["fork"])
        #expect(usage.status == 64)
        let unreachable = try Command.run([BuiltProduct.path("volumectl"), "--socket", "/nonexistent.sock", "status"], clean: true)
        #expect(unreachable.status == 69 && unreachable.stderr.contains("is it running?"), "\(unreachable.stderr)")
    }
}
