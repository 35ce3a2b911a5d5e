import Foundation

/// Runs an external program (juicefs, openssl, volumectl …) and captures its output.
public enum Command {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String

        public var succeeded: Bool { status == 0 }
        public var output: String { stdout + stderr }
    }

    public struct Failed: Error, CustomStringConvertible {
        public let arguments: [String]
        public let result: Result
        public var description: String { "\(arguments.joined(separator: " ")) exited \(result.status): \(result.output.suffix(2000))" }
    }

    /// Runs `arguments[0]` found on `PATH`; `environment` is merged over this process's
    /// environment unless `clean` is set; `input` becomes its stdin.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String] = [:], clean: Bool = false, input: Data? = nil) throws -> Result {
        let process = Process()
        if arguments[0].hasPrefix("/") {
            process.executableURL = URL(fileURLWithPath: arguments[0])
            process.arguments = Array(arguments.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
        }
        let base = clean ? ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": "/nonexistent"] : ProcessInfo.processInfo.environment
        process.environment = base.merging(environment) { $1 }
        let scratch = try Scratch.directory("command")
        let outURL = URL(fileURLWithPath: scratch.appending("stdout").string)
        let errURL = URL(fileURLWithPath: scratch.appending("stderr").string)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        // Files rather than pipes: a chatty child can never block on a full pipe.
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        if let input {
            let inURL = URL(fileURLWithPath: scratch.appending("stdin").string)
            try input.write(to: inURL)
            process.standardInput = try FileHandle(forReadingFrom: inURL)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: scratch.string) }
        return Result(
            status: process.terminationStatus, stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// Like `run`, but a non-zero exit status is an error carrying the output.
    @discardableResult
    public static func check(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let result = try run(arguments, environment: environment)
        guard result.succeeded else { throw Failed(arguments: arguments, result: result) }
        return result
    }
}
