"""The front end, stages 1 and 2: `parse` reads a live function's source (gast, the
user's line numbers, free names resolved as Python resolves them) and `normalize`
desugars it to a small core in A-normal form; `normalize.unsupported_constructs` is the
table of what is refused and what to write instead (`lowering`: where `del`, `:=`,
`try` and `nonlocal` are lowered exactly, and why not elsewhere)."""
