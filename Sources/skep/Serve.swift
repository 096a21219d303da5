import SkepConfig
import SkepMPM

/// Runs the server the configuration describes.
enum Serve {
    static func run(config: ServerConfig, mpm: MPMSettings, loader: ConfigLoader, singleProcess: Bool) throws {
        Reports.printError("skep: serving lands with the HTTP engine")
        throw ExitCodeError()
    }
}
struct ExitCodeError: Error {}
