import Foundation
import SystemPackage
import TestSupport
import Testing

/// Everyday programs against a mounted volume, each checking its own result.
@Suite(.serialized) struct RealProgramTests {
    @Test func rsyncTwiceTransfersNothingTheSecondTime() throws {
        let fixture = try MountFixture()
        let source = FileManager.default.currentDirectoryPath + "/Sources/"
        try fixture.sh("rsync -a '\(source)' '\(fixture.path("mirror"))/'")
        let second = try fixture.sh("rsync -a --itemize-changes '\(source)' '\(fixture.path("mirror"))/'").stdout
        #expect(second.isEmpty, "second rsync changed: \(second.prefix(500))")
        try fixture.finish()
    }

    @Test func gitCommitsAndFsckIsClean() throws {
        let fixture = try MountFixture()
        try fixture.sh(
            """
            cd '\(fixture.root)' && git init -q repo && cd repo && git config user.email t@example.com && git config user.name test
            for i in $(seq 1 30); do echo "line $i" > file$i.txt; done
            git add . && git commit -qm first && echo more >> file1.txt && git commit -qam second
            git fsck --full --strict && test "$(git log --oneline | wc -l)" = 2 && git gc -q && git fsck --full
            """)
        try fixture.finish()
    }

    @Test func anSQLiteDatabaseOnTheMount() throws {
        let fixture = try MountFixture()
        let result = try fixture.sh(
            """
            cd '\(fixture.root)'
            sqlite3 app.db 'CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);'
            for i in $(seq 1 200); do echo "INSERT INTO t(v) VALUES('row $i');"; done | sqlite3 app.db
            sqlite3 app.db 'PRAGMA integrity_check; SELECT count(*), max(k) FROM t;'
            """)
        #expect(result.stdout == "ok\n200|200\n")
        try fixture.finish()
    }

    @Test(arguments: [MetaKind.sqlite, .redis])
    func pythonRandomIOMatchesAReferenceFile(meta: MetaKind) throws {
        try randomIO(on: try MountFixture(meta: meta))
    }

    /// Retried uploads, and the cold reads after them, return exactly what was written.
    @Test func randomIOStaysCorrectThroughRetriedRequests() throws {
        try randomIO(on: try MountFixture(bucket: .flakyS3))
    }

    /// Staged blocks stay the truth while the store refuses every upload.
    @Test func randomIOStaysCorrectWhileEveryUploadFails() throws {
        let fixture = try MountFixture(bucket: .failingS3)
        try randomIO(on: fixture, drained: false)
        #expect(fixture.chunks.statistics.stagedBlocks > 0, "nothing could be uploaded")
    }

    private func randomIO(on fixture: MountFixture, drained: Bool = true) throws {
        let script = """
            import os, random, sys
            random.seed(20261125)
            path, reference = sys.argv[1], bytearray()
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            for step in range(3000):
                op = random.random()
                if op < 0.55:
                    offset = random.choice([random.randrange(0, 70 << 20), random.randrange((64 << 20) - 300000, (64 << 20) + 300000), random.randrange(0, 1 << 20)])
                    data = os.urandom(random.randrange(1, 150000))
                    os.pwrite(fd, data, offset)
                    if len(reference) < offset + len(data):
                        reference.extend(b"\\0" * (offset + len(data) - len(reference)))
                    reference[offset:offset + len(data)] = data
                elif op < 0.62:
                    size = random.randrange(0, 72 << 20)
                    os.ftruncate(fd, size)
                    if size < len(reference):
                        del reference[size:]
                    else:
                        reference.extend(b"\\0" * (size - len(reference)))
                elif op < 0.95:
                    offset = random.randrange(0, len(reference) + 1000)
                    count = random.randrange(1, 300000)
                    got = os.pread(fd, count, offset)
                    want = bytes(reference[offset:offset + count])
                    if got != want:
                        sys.exit(f"step {step}: read {count} at {offset} differs (file {len(reference)})")
                else:
                    os.fsync(fd)
                if os.fstat(fd).st_size != len(reference):
                    sys.exit(f"step {step}: size {os.fstat(fd).st_size} != {len(reference)}")
            os.close(fd)
            with open(path, "rb") as f:
                if f.read() != bytes(reference):
                    sys.exit("final contents differ")
            print("ok", len(reference))
            """
        try script.write(toFile: fixture.directory.appending("random_io.py").string, atomically: true, encoding: .utf8)
        let result = try fixture.sh("python3 '\(fixture.directory.appending("random_io.py"))' '\(fixture.path("random.bin"))'")
        #expect(result.stdout.hasPrefix("ok"))
        if drained { try fixture.finish() }
    }

    @Test func linksXattrsAndALargeFile() throws {
        let fixture = try MountFixture()
        let result = try fixture.sh(
            """
            cd '\(fixture.root)'
            head -c 100000000 /dev/urandom > big.bin && sum1=$(md5sum < big.bin)
            ln big.bin hard.bin && ln -s big.bin soft.bin
            test "$(stat -c %h big.bin)" = 2 && test "$(readlink soft.bin)" = big.bin && test "$(md5sum < soft.bin)" = "$sum1"
            setfattr -n user.color -v blue big.bin && test "$(getfattr --only-values -n user.color hard.bin)" = blue
            setfattr -x user.color big.bin && ! getfattr -n user.color big.bin 2>/dev/null
            rm big.bin && test "$(stat -c %h hard.bin)" = 1 && test "$(md5sum < hard.bin)" = "$sum1"
            echo done
            """)
        #expect(result.stdout == "done\n")
        try fixture.finish()
    }

    @Test func renameOverAnOpenFileKeepsTheOpenDataReadable() throws {
        let fixture = try MountFixture()
        let result = try fixture.sh(
            """
            cd '\(fixture.root)'
            echo old-contents > target && echo new-contents > source
            exec 3< target
            mv source target
            test "$(cat <&3)" = old-contents && test "$(cat target)" = new-contents
            exec 3<&-
            echo done
            """)
        #expect(result.stdout == "done\n")
        try fixture.finish()
    }

    @Test func permissionsAreEnforcedForAnotherUser() throws {
        let fixture = try MountFixture()
        let result = try fixture.sh(
            """
            cd '\(fixture.root)'
            mkdir private shared && chmod 700 private && chmod 1777 shared && echo secret > private/file
            ! setpriv --reuid=65534 --regid=65534 --clear-groups cat private/file 2>/dev/null
            setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo mine > shared/nobody.txt'
            test "$(stat -c %U shared/nobody.txt)" = nobody
            ! setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo x > private/other' 2>/dev/null
            echo done
            """)
        #expect(result.stdout == "done\n")
        try fixture.finish()
    }

    /// FUSE_HANDLE_KILLPRIV_V2 leaves clearing set-ID bits to volumed: a write, truncation or
    /// O_TRUNC by a caller without CAP_FSETID clears them, root keeps them, a change of owner
    /// always clears them, for every kind of node but a directory (the protocol keeps
    /// set-group-ID without group execute).
    @Test func setIDBitsAreClearedWhereLinuxClearsThem() throws {
        let fixture = try MountFixture()
        #expect(fixture.mount.clearsSetIDItself, "the kernel (5.11 or later) accepted FUSE_HANDLE_KILLPRIV_V2")
        let result = try fixture.sh(
            """
            cd '\(fixture.root)'
            as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
            printf x > f && chown nobody f
            chmod 6775 f && as_nobody sh -c 'printf y >> f' && echo "write $(stat -c %a f)"
            chmod 6775 f && printf z >> f && echo "root write $(stat -c %a f)"
            chmod 6765 f && as_nobody sh -c 'printf y >> f' && echo "write without group execute $(stat -c %a f)"
            chmod 6775 f && as_nobody truncate -s 1 f && echo "truncate $(stat -c %a f)"
            chmod 6775 f && truncate -s 2 f && echo "root truncate $(stat -c %a f)"
            chmod 6775 f && as_nobody sh -c ': > f' && echo "O_TRUNC $(stat -c %a f)"
            chmod 6775 f && chown root f && echo "chown $(stat -c %a f)"
            mkdir d && chmod 6775 d && chown nobody d && echo "chown directory $(stat -c %a d)"
            mkfifo p && chown nobody p && chmod 6555 p && as_nobody chgrp 65534 p && echo "owner's chown of a FIFO $(stat -c %a p)"
            """)
        #expect(
            result.stdout.split(separator: "\n") == [
                "write 775", "root write 6775", "write without group execute 2765", "truncate 775", "root truncate 6775", "O_TRUNC 775",
                "chown 775", "chown directory 6775", "owner's chown of a FIFO 555",
            ], "\(result.output)")
        try fixture.finish()
    }

    /// `truncate -s 888T f; rm f` once wedged a Redis-backed mount: lengths near the format's
    /// limit cost what the file holds on both engines, and past it they are EFBIG.
    @Test(arguments: [MetaKind.sqlite, .redis])
    func hugeSparseFilesAreCheapToMakeAndDelete(meta: MetaKind) throws {
        let fixture = try MountFixture(meta: meta)
        let result = try fixture.sh(
            """
            cd '\(fixture.root)'
            truncate -s 888T f && test "$(stat -c %s f)" = 976366325465088 && rm f
            truncate -s 1P g
            printf end | dd of=g bs=1 seek=$(( (1 << 57) - 3 )) conv=notrunc status=none
            test "$(stat -c %s g)" = $(( 1 << 57 )) && test "$(tail -c 3 g)" = end
            fallocate -p -o 0 -l $(( 1 << 57 )) g && test "$(tail -c 3 g | tr -d '\\0' | wc -c)" = 0
            ! truncate -s $(( (1 << 57) + 1 )) g 2>/dev/null
            ! printf x | dd of=g bs=1 seek=$(( 1 << 57 )) conv=notrunc status=none 2>/dev/null
            test "$(stat -c %s g)" = $(( 1 << 57 )) && rm g
            echo done
            """)
        #expect(result.stdout == "done\n", "\(result.output)")
        try fixture.finish()
    }

    @Test func fallocatePunchesAndZeroesHolesAndGrowsFiles() throws {
        let fixture = try MountFixture()
        let result = try fixture.sh(
            """
            cd '\(fixture.root)'
            head -c 300000 /dev/urandom > f && cp f reference
            fallocate -p -o 4096 -l 70000 f
            python3 -c "
            d = bytearray(open('reference', 'rb').read()); d[4096:74096] = bytes(70000)
            d[200000:210000] = bytes(10000); open('expected', 'wb').write(d)"
            fallocate -z -o 200000 -l 10000 f
            cmp f expected && test "$(stat -c %s f)" = 300000
            fallocate -l 5000000 grown && test "$(stat -c %s grown)" = 5000000 && test "$(tr -d '\\0' < grown | wc -c)" = 0
            fallocate -n -l 9000000 grown && test "$(stat -c %s grown)" = 5000000
            echo done
            """)
        #expect(result.stdout == "done\n")
        try fixture.finish()
    }

    @Test func copyFileRangeWithinTheVolume() throws {
        let fixture = try MountFixture()
        let result = try fixture.sh(
            """
            cd '\(fixture.root)'
            head -c 9000000 /dev/urandom > source
            python3 -c "
            import os
            src, dst = os.open('source', os.O_RDONLY), os.open('copy', os.O_WRONLY | os.O_CREAT, 0o644)
            copied = 0
            while copied < 9000000:
                n = os.copy_file_range(src, dst, 9000000 - copied, copied, copied + 4096)
                assert n > 0
                copied += n
            "
            cmp <(head -c 4096 /dev/zero; cat source) copy && rm source && test "$(stat -c %s copy)" = 9004096
            echo done
            """)
        #expect(result.stdout == "done\n")
        try fixture.finish()
        let fsck = try Command.run(["juicefs", "fsck", fixture.metaURL, "--path", "/", "--recursive", "--sync-dir-stat"])
        #expect(fsck.succeeded, "\(fsck.output.suffix(1500))")
    }

    @Test func locksExcludeEachOtherWithinTheMount() throws {
        let fixture = try MountFixture()
        let result = try fixture.sh(
            """
            cd '\(fixture.root)' && touch lockfile
            flock lockfile -c 'sleep 2' & sleep 0.5
            if flock -n lockfile true; then echo "flock not exclusive"; exit 1; fi
            wait
            flock -n lockfile true
            python3 -c "
            import fcntl, os, subprocess, sys
            fd = os.open('lockfile', os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX)
            other = subprocess.run([sys.executable, '-c', 'import fcntl, os; fd = os.open(\\"lockfile\\", os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)'])
            sys.exit(0 if other.returncode != 0 else 'posix lock not exclusive')"
            echo done
            """)
        #expect(result.stdout == "done\n")
        try fixture.finish()
    }

    @Test func aReadOnlyMountRefusesEveryMutation() throws {
        let writable = try MountFixture()
        try writable.sh("cd '\(writable.root)' && mkdir d && echo x > f && ln -s f l")
        try writable.finish()
        let fixture = try MountFixture(reusing: writable, readOnly: true)
        let attempts = [
            "touch \(fixture.root)/new", "mkdir \(fixture.root)/new", "rm \(fixture.root)/f", "rmdir \(fixture.root)/d",
            "mv \(fixture.root)/f \(fixture.root)/g", "ln \(fixture.root)/f \(fixture.root)/h", "ln -s f \(fixture.root)/s",
            "echo y >> \(fixture.root)/f", "truncate -s 0 \(fixture.root)/f", "chmod 600 \(fixture.root)/f", "setfattr -n user.k -v v \(fixture.root)/f",
            "mkfifo \(fixture.root)/p", "touch -d 2000-01-01 \(fixture.root)/f",
        ]
        for attempt in attempts {
            let result = try Command.run(["bash", "-c", attempt])
            #expect(!result.succeeded && result.stderr.contains("Read-only file system"), "\(attempt): \(result.stderr)")
        }
        #expect(FileManager.default.contents(atPath: fixture.path("f")) == Data("x\n".utf8))
        try fixture.finish()
    }
}
