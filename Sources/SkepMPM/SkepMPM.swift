// SkepMPM: filled in by its issue.
