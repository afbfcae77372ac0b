"""The syntax helpers every stage uses: `nodes` is the only module that builds AST nodes,
`emit` (stage 7) the only one that prints source. A gast or astor change touches these
two files."""
