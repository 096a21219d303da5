// SkepConfig: filled in by its issue.
