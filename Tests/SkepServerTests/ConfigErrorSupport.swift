import SkepConfig
@testable import SkepServer

/// The configuration error for `text` with the core and `modules` loaded (each by a
/// `LoadModule` line, so the error's line numbers count from `modules.count + 1`), or
/// nil when the text is accepted.
func configError(_ text: String, modules: [ModuleDescriptor]) -> String? {
    let all = CoreModule.all + modules
    do {
        var reader = ConfigReader(modules: all, options: .init(serverRoot: "/tmp"))
        let loads = modules.map { "LoadModule \($0.name) \($0.sourceName.replacingOccurrences(of: ".c", with: ".so"))\n" }.joined()
        let tree = try reader.read(text: loads + text, name: "test.conf")
        _ = try ConfigProcessor.process(tree, modules: all, configFile: "test.conf")
        return nil
    } catch {
        return "\(error)"
    }
}
