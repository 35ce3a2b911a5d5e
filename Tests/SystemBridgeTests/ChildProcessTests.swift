import Foundation
import SystemBridge
import Testing

@Suite struct ChildProcessTests {
    @Test func anExitStatusAndASignalAreReported() throws {
        let exited = try ChildProcess.start("/bin/sh", ["-c", "exit 3"])
        #expect(exited.waitUntilExit() == .exited(3))
        #expect(!exited.isRunning)

        let sleeper = try ChildProcess.start("/bin/sleep", ["60"])
        #expect(sleeper.isRunning)
        sleeper.send(SIGTERM)
        #expect(sleeper.waitUntilExit() == .signalled(SIGTERM), "the child does not inherit a blocked SIGTERM from its parent")
        sleeper.send(SIGTERM)  // reaped: a no-op, never a signal to another process
    }

    @Test func onExitRunsOnceTheChildIsReaped() throws {
        let seen = DispatchSemaphore(value: 0)
        let child = try ChildProcess.start("/bin/true", []) { child in
            if child.termination == .exited(0) { seen.signal() }
        }
        #expect(seen.wait(timeout: .now() + 10) == .success)
        #expect(child.termination == .exited(0))
    }

    @Test func aMissingProgramExitsWith127() throws {
        #expect(try ChildProcess.start("/nonexistent/program", []).waitUntilExit() == .exited(127))
    }
}
