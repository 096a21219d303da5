import SkepConfig
import SkepServer
import Testing

/// Every module's `AllowOverride` tags name directives of its own table, so a renamed
/// directive cannot silently lose its `.htaccess` class.
@Suite struct ModuleOverrideTests {
    @Test func everyOverrideTagNamesADirectiveOfItsModule() {
        for module in CoreModule.all + ServerModules.all {
            #expect(module.unknownOverrides.isEmpty, "\(module.name): \(module.unknownOverrides)")
        }
    }

    @Test func apacheClassesOfWellKnownDirectives() {
        let specs = Dictionary((CoreModule.all + ServerModules.all).flatMap(\.directives).map { ($0.name, $0) }) { a, _ in a }
        #expect(specs["Options"]?.overrides == .options)
        #expect(specs["Require"]?.overrides == .authConfig)
        #expect(specs["DirectoryIndex"]?.overrides == .indexes)
        #expect(specs["Order"]?.overrides == .limit)
        #expect(specs["AddType"]?.overrides == .fileInfo)
        #expect(specs["IfModule"]?.overrides == .all)
        #expect(specs["DocumentRoot"]?.overrides == [])
        #expect(specs["AllowOverride"]?.overrides == [])
    }
}
