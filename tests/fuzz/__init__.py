"""A differential fuzzer for sourcediff: random scientific programs, checked against finite differences and JAX.

``python -m tests.fuzz --help`` runs it for a while; ``tests/fuzz/test_fuzz.py`` runs a fixed budget in CI.
See ``tests/fuzz/README.md``.
"""
