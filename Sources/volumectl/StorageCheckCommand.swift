import ArgumentParser

struct StorageCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check")
    @Argument var uri: String
    func run() throws {}
}
