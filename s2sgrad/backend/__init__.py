"""The back end, stage 8: `load` compiles generated source under a file name registered
in `linecache` (so tracebacks, pdb and inspect show it) and binds the runtime helpers."""
