import SkepConfig
import SkepServer

/// Every module a stock `skep` binary has: the core's, the request-handling modules
/// and the three MPMs. An embedding program appends its own.
public enum BuiltinModules {
    public static var all: [ModuleDescriptor] { CoreModule.all + ServerModules.all + MPMModule.all }
}
