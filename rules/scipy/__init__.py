"""Rules for SciPy, one module per subpackage (``special.py`` for ``scipy.special``).

``import sourcediff`` does not import these: the registry imports one the first
time it looks up a function of that subpackage (``registry.load_rules_for``),
when the user's code has already imported SciPy.
"""
