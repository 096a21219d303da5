// SkepHTTP: filled in by its issue.
