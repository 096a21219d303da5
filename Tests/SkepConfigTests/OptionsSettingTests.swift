import Testing
import SkepConfig
import SkepTestSupport

@Suite struct OptionsSettingTests {
    func parse(_ words: [String]) throws(ConfigError) -> OptionsSetting {
        try OptionsSetting.parse(Directive(name: "Options", arguments: words, location: .init(file: "t", line: 1),
                                           text: "Options " + words.joined(separator: " ")))
    }

    @Test func absolute() throws {
        #expect(try parse(["Indexes", "FollowSymLinks"]) == OptionsSetting(absolute: [.indexes, .followSymLinks]))
        #expect(try parse(["none"]) == OptionsSetting(absolute: []))
        #expect(try parse(["ExecCGI", "Includes", "IncludesNOEXEC", "SymLinksIfOwnerMatch", "MultiViews"])
                == OptionsSetting(absolute: [.execCGI, .includes, .includesNoExec, .symLinksIfOwnerMatch, .multiViews]))
    }

    @Test func allLeavesOutMultiViews() throws {
        let all = try parse(["All"])
        #expect(all.absolute == DirectoryOptions.all)
        #expect(!DirectoryOptions.all.contains(.multiViews))
        #expect(!DirectoryOptions.all.contains(.includesNoExec))
    }

    @Test func relative() throws {
        #expect(try parse(["+Indexes", "-ExecCGI"]) == OptionsSetting(add: [.indexes], remove: [.execCGI]))
        #expect(try parse(["-Indexes", "+Indexes"]) == OptionsSetting(add: [.indexes]))
        #expect(try parse(["+All", "-ExecCGI"]) == OptionsSetting(add: [.indexes, .includes, .followSymLinks, .symLinksIfOwnerMatch], remove: [.execCGI]))
    }

    @Test(arguments: [["Indexes", "+ExecCGI"], ["-Indexes", "FollowSymLinks"]])
    func mixingIsRefused(_ words: [String]) {
        let error = captureError { try parse(words) }
        #expect(error?.description == "t:1: Either all Options must start with + or -, or no Option may. (Options \(words.joined(separator: " ")))")
    }

    @Test(arguments: ["Bogus", "+Bogus", "Index"])
    func unknownOption(_ word: String) {
        let name = word.hasPrefix("+") ? String(word.dropFirst()) : word
        #expect(captureError { try parse([word]) }?.description == "t:1: Illegal option \(name) (Options \(word))")
    }

    @Test func resolvedOverAParent() {
        let parent: DirectoryOptions = [.indexes, .followSymLinks]
        #expect(OptionsSetting(absolute: [.execCGI]).resolved(over: parent) == [.execCGI])
        #expect(OptionsSetting(add: [.execCGI], remove: [.indexes]).resolved(over: parent) == [.followSymLinks, .execCGI])
        #expect(OptionsSetting().resolved(over: parent) == parent)
    }

    @Test func mergedPairs() {
        let absolute = OptionsSetting(absolute: [.indexes, .followSymLinks])
        let relative = OptionsSetting(add: [.execCGI], remove: [.indexes])
        // An absolute child replaces whatever is above it.
        #expect(relative.merged(with: absolute) == absolute)
        // A relative child edits an absolute parent into a new absolute setting.
        #expect(absolute.merged(with: relative) == OptionsSetting(absolute: [.followSymLinks, .execCGI]))
        // Two relative settings combine, the child's sign winning.
        let undo = OptionsSetting(add: [.indexes], remove: [.execCGI])
        #expect(relative.merged(with: undo) == OptionsSetting(add: [.indexes], remove: [.execCGI]))
        #expect(relative.merged(with: undo).resolved(over: [.followSymLinks]) == [.followSymLinks, .indexes])
    }

    @Test func mergingThreeLevelsMatchesApplyingThemInTurn() {
        let levels = [OptionsSetting(absolute: [.indexes]), OptionsSetting(add: [.execCGI]), OptionsSetting(remove: [.indexes], )]
        var stepwise: DirectoryOptions = .followSymLinks
        for level in levels { stepwise = level.resolved(over: stepwise) }
        let merged = levels.dropFirst().reduce(levels[0]) { $0.merged(with: $1) }
        #expect(merged.resolved(over: .followSymLinks) == stepwise)
        #expect(stepwise == [.execCGI])
    }
}
