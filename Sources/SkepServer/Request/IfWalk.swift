import SkepConfig

/// Apache's `ap_if_walk`: after the section walk, the `<If>` sections collected from
/// every scope that applies are evaluated in order; the ones that hold are merged over
/// the request's configuration, and the `<If>`s nested in them are walked in turn.
/// An `<ElseIf>`/`<Else>` is skipped when the section before it applied; a condition
/// that fails to evaluate counts as false and is logged (AH00039).
enum IfWalk {
    static func apply(_ r: Request, _ context: ServerContext) {
        var sections = r.directory[IfSections.self].sections
        // Each level merges at least one section, and a section's nesting is finite.
        while !sections.isEmpty {
            var merged: ConfigVector?
            var previousApplied: Bool?
            for section in sections {
                if section.followsIf, previousApplied == true { continue }
                if let condition = section.condition {
                    var evaluation = ExprEvaluation(r, context)
                    guard let result = evaluation.evaluate(condition) else {
                        context.errorLog.log(.error, module: "core", client: r.client,
                                             "AH00039: Failed to evaluate <If > condition: \(evaluation.failure ?? "")")
                        previousApplied = false
                        continue
                    }
                    if r.wouldBlock { return }
                    guard result else {
                        previousApplied = false
                        continue
                    }
                    previousApplied = true
                } else {
                    previousApplied = nil
                }
                merged = merged.map { $0.merged(with: section.config) } ?? section.config
            }
            guard let merged else { return }
            r.directory = r.directory.merged(with: merged)
            sections = merged[IfSections.self].sections
        }
    }
}
