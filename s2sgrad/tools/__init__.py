"""What users run on top of the API: the `s2sgrad` command (`cli`), working from a file
without importing it (`files`: load, lint, transform), reading a gradient at a point
(`explain`) and drawing it (`graph`)."""
