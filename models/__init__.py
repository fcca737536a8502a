"""Model-building tooling for typeinf (training corpus, training scripts).

Nothing here is imported by the ``typeinf`` runtime package.
"""
