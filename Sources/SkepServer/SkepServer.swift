// SkepServer: filled in by its issue.
