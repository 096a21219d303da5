import ArgumentParser
import SkepConfig
import SkepMPM
import SkepServer
import SkepSystem

/// Runs the server the configuration describes.
enum Serve {
    static func run(config: ServerConfig, mpm: MPMSettings, loader: ConfigLoader, singleProcess: Bool) throws {
        let context: ServerContext
        let listeners: [ListeningSocket]
        do {
            context = try loader.modules.makeContext(config)
            listeners = try Listeners.bind(config)
        } catch let error as ConfigError {
            Reports.printError(error.description)
            throw ExitCode(1)
        } catch {
            Reports.printError("skep: \(error)")
            throw ExitCode(1)
        }
        if config.configFile == DefaultConfig.name {
            let root = config[CoreServerConfig.self].documentRoot ?? config.serverRoot
            Reports.printError("skep: no -f given: serving \(root) on http://\(config[ListenConfig.self].listens.map(\.description).joined(separator: ", ")) with the embedded default configuration")
        }
        let status: Int32
        if singleProcess {
            status = try SingleProcess(context: context, listeners: listeners, modules: loader.modules).run()
        } else {
            do {
                status = try Master(loader: loader, config: config, settings: mpm, context: context, listeners: listeners).run()
            } catch let error as ConfigError {
                Reports.printError(error.description)
                throw ExitCode(1)
            }
        }
        if status != 0 { throw ExitCode(status) }
    }
}
