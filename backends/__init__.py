"""Runtimes the generated code calls into: one module per array backend."""
