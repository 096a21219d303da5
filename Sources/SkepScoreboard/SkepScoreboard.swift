// SkepScoreboard: filled in by its issue.
