// SkepSystem: filled in by its issue.
